"""The simulator's certificates: a CA made at first start and kept in the data dir, TLS server
certificates it issues at every start, and the SNS signing certificate (RSA, CN sns.amazonaws.com).

The signing certificate is kept too, so its SigningCertURL, and the copy pinned for the feedback
service, stay valid across restarts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

SNS_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
    "me-south-1",
    "af-south-1",
    "il-central-1",
    "us-gov-west-1",
)
_SIGNING_PREFIX = "SimpleNotificationService-"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _usable(certificate: x509.Certificate, margin: dt.timedelta = dt.timedelta(days=30)) -> bool:
    return certificate.not_valid_before_utc <= _now() and _now() + margin < certificate.not_valid_after_utc


@dataclass
class SimulatorCertificates:
    state_dir: Path
    ca_file: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_certificate: x509.Certificate

    @classmethod
    def load_or_create(cls, state_dir: Path, ca_file: Path) -> "SimulatorCertificates":
        state_dir.mkdir(parents=True, exist_ok=True)
        ca_file.parent.mkdir(parents=True, exist_ok=True)
        key_file = state_dir / "ca-key.pem"
        if ca_file.exists() and key_file.exists():
            certificate = x509.load_pem_x509_certificate(ca_file.read_bytes())
            if _usable(certificate):
                return cls(
                    state_dir,
                    ca_file,
                    # written by _create: an EC key
                    cast(ec.EllipticCurvePrivateKey, serialization.load_pem_private_key(key_file.read_bytes(), None)),
                    certificate,
                )
        return cls._create(state_dir, ca_file, key_file)

    @classmethod
    def _create(cls, state_dir: Path, ca_file: Path, key_file: Path) -> "SimulatorCertificates":
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "Postroom SES simulator CA"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Postroom (local, not Amazon)"),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(days=1))
            .not_valid_after(_now() + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(key_file, _private_pem(key))
        ca_file.write_bytes(_pem(certificate))
        for stale in state_dir.glob(f"{_SIGNING_PREFIX}*.pem"):
            stale.unlink()  # issued by the CA just replaced
        return cls(state_dir, ca_file, key, certificate)

    def _issue(
        self, subject: str, names: list[x509.GeneralName], public_key, *, server: bool, days: int
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(self.ca_certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(days=1))
            .not_valid_after(_now() + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(self.ca_key, hashes.SHA256())

    def server_context(self, label: str, hosts: list[str]) -> ssl.SSLContext:
        """A TLS server context with a fresh certificate for `hosts` (names or IP addresses)."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = self._issue(
            hosts[0], [_general_name(host) for host in dict.fromkeys(hosts)], key.public_key(), server=True, days=397
        )
        tls_dir = self.state_dir / "tls"
        tls_dir.mkdir(exist_ok=True)
        cert_file, key_file = tls_dir / f"{label}.crt", tls_dir / f"{label}.key"
        cert_file.write_bytes(_pem(certificate) + _pem(self.ca_certificate))
        _write_private(key_file, _private_pem(key))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """The system's trust store plus this CA: for posting to endpoints that may be the simulator's own."""
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(self.ca_file))
        return context

    def sns_signing_identity(self) -> "SnsSigningCertificate":
        existing = sorted(self.state_dir.glob(f"{_SIGNING_PREFIX}*.pem"))
        key_file = self.state_dir / "sns-signing-key.pem"
        if existing and key_file.exists():
            certificate = x509.load_pem_x509_certificate(existing[0].read_bytes())
            if _usable(certificate, dt.timedelta(days=1)):
                # written below: an RSA key
                key = cast(rsa.RSAPrivateKey, serialization.load_pem_private_key(key_file.read_bytes(), None))
                return SnsSigningCertificate(existing[0].stem.removeprefix(_SIGNING_PREFIX), key, certificate)
            existing[0].unlink()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # SNS signs with RSA
        certificate = self._issue(
            "sns.amazonaws.com", [x509.DNSName("sns.amazonaws.com")], key.public_key(), server=False, days=365
        )
        identity = SnsSigningCertificate(uuid.uuid4().hex, key, certificate)
        _write_private(key_file, _private_pem(key))
        (self.state_dir / identity.file_name).write_bytes(_pem(certificate))
        return identity


@dataclass(frozen=True)
class SnsSigningCertificate:
    certificate_id: str
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def file_name(self) -> str:
        return f"{_SIGNING_PREFIX}{self.certificate_id}.pem"

    def url(self, region: str) -> str:
        return f"https://sns.{region}.amazonaws.com/{self.file_name}"

    def pem(self) -> bytes:
        return _pem(self.certificate)

    def pin_in(self, directory: Path) -> Path:
        """Where the feedback service looks for pinned SNS certificates, named as the URL's basename."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.file_name
        path.write_bytes(self.pem())
        return path


def sns_host_names() -> list[str]:
    return [f"sns.{region}.amazonaws.com" for region in SNS_REGIONS]
