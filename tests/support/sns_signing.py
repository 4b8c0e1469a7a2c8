"""A stand-in for Amazon SNS's signing: an RSA test CA, SNS-like signing certificates, signed messages.

Used by the feedback tests and the dispatch simulator. The string to sign is built here on its own,
straight from the SNS documentation, so a mistake in the service's builder is not copied into the
vectors it is tested with.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

_HASH_BY_VERSION = {"1": hashes.SHA1, "2": hashes.SHA256}
_NOTIFICATION_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_SIGNED = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")

DEFAULT_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:postroom-ses-feedback"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sns_timestamp(moment: datetime) -> str:
    """`2022-07-28T22:53:55.086Z`, the way SNS writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class SnsSigningAuthority:
    """A self-signed RSA CA that issues SNS-like signing certificates (SNS signs with RSA keys).

    For loopback TLS servers use `tests.support.certificates.LocalCertificateAuthority` instead.
    """

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str = "Postroom SNS signing test CA") -> SnsSigningAuthority:
        key = new_rsa_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def issue(
        self,
        common_name: str | None,
        *,
        dns_names: tuple[str, ...] = (),
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        key = key or new_rsa_key()
        now = datetime.now(UTC)
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if dns_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]), critical=False
            )
        return key, builder.sign(self.key, hashes.SHA256())


@dataclass
class SnsSigningIdentity:
    """An SNS-like signing key, its certificate and the SigningCertURL it is published under."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    region: str = "us-east-1"
    certificate_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def issued_by(
        cls,
        authority: SnsSigningAuthority,
        *,
        common_name: str = "sns.amazonaws.com",
        region: str = "us-east-1",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> SnsSigningIdentity:
        key, certificate = authority.issue(
            common_name, dns_names=(common_name,), not_before=not_before, not_after=not_after, key=key
        )
        return cls(key, certificate, region)

    @property
    def certificate_file_name(self) -> str:
        return f"SimpleNotificationService-{self.certificate_id}.pem"

    @property
    def signing_cert_url(self) -> str:
        return f"https://sns.{self.region}.amazonaws.com/{self.certificate_file_name}"

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def pin_in(self, directory: Path) -> Path:
        """Write the certificate where a pinned-certificate directory looks for it."""
        path = directory / self.certificate_file_name
        path.write_bytes(self.certificate_pem())
        return path

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        """`message` with SignatureVersion, SigningCertURL and Signature added."""
        signed = dict(message, SignatureVersion=version, SigningCertURL=self.signing_cert_url)
        signature = self.key.sign(string_to_sign(signed), padding.PKCS1v15(), _HASH_BY_VERSION[version]())
        signed["Signature"] = base64.b64encode(signature).decode("ascii")
        return signed


def string_to_sign(message: dict[str, Any]) -> bytes:
    names = _NOTIFICATION_SIGNED if message["Type"] == "Notification" else _CONFIRMATION_SIGNED
    return "".join(f"{name}\n{message[name]}\n" for name in names if name in message).encode("utf-8")


def notification(
    message: str,
    *,
    subject: str | None = None,
    topic_arn: str = DEFAULT_TOPIC_ARN,
    timestamp: datetime | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned SNS Notification; sign it with `SnsSigningIdentity.sign`."""
    body: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": sns_timestamp(timestamp or datetime.now(UTC)),
        "UnsubscribeURL": f"https://sns.{_region_of(topic_arn)}.amazonaws.com/?Action=Unsubscribe"
        f"&SubscriptionArn={topic_arn}:{uuid.uuid4()}",
    }
    if subject is not None:
        body["Subject"] = subject
    return body


def subscription_confirmation(
    *,
    topic_arn: str = DEFAULT_TOPIC_ARN,
    timestamp: datetime | None = None,
    token: str | None = None,
    unsubscribe: bool = False,
    subscribe_host: str | None = None,
) -> dict[str, Any]:
    """An unsigned SubscriptionConfirmation (or UnsubscribeConfirmation with `unsubscribe=True`)."""
    token = token or uuid.uuid4().hex * 4
    host = subscribe_host or f"sns.{_region_of(topic_arn)}.amazonaws.com"
    kind = "UnsubscribeConfirmation" if unsubscribe else "SubscriptionConfirmation"
    return {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": f"https://{host}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}",
        "Timestamp": sns_timestamp(timestamp or datetime.now(UTC)),
    }


def http_body(message: dict[str, Any]) -> bytes:
    return json.dumps(message, indent=2).encode("utf-8")


def http_headers(message: dict[str, Any]) -> dict[str, str]:
    """The headers SNS sends with `message` over HTTP(S)."""
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": message["Type"],
        "x-amz-sns-message-id": message["MessageId"],
        "x-amz-sns-topic-arn": message["TopicArn"],
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    if message["Type"] == "Notification":
        headers["x-amz-sns-subscription-arn"] = f"{message['TopicArn']}:{uuid.uuid4()}"
    return headers


def _region_of(topic_arn: str) -> str:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"
