"""Proof that an SNS message was sent by Amazon SNS.

Follows https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html:
rebuild the string SNS signed, check it against the signing certificate's RSA key (PKCS#1 v1.5,
SHA1 for SignatureVersion 1, SHA256 for 2), and take that certificate only from an SNS host.

The certificate URL check is deliberately narrow. django-ses (GHSA-qg36-9jxh-fj25) accepted any
`*.amazonaws.com` host, so anyone could sign messages with a certificate served from their own S3
bucket (`bucket.s3.amazonaws.com`). Here only `sns.<region>.amazonaws.com[.cn]` passes, and nothing
else is ever requested.

X.509 and RSA come from cryptography, imported by the first message checked rather than with this
module: its Rust library maps about 8 MB into a process that has not been sent anything yet.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import aiohttp

from services.feedback.sns_message import SnsMessage, SnsMessageError, SnsMessageType
from services.feedback.sns_session import SnsSession

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_MAX_AGE = timedelta(hours=1)
DEFAULT_MAX_CLOCK_SKEW = timedelta(minutes=5)
CERTIFICATE_FETCH_TIMEOUT_SECONDS = 5.0
MAX_CERTIFICATE_BYTES = 64 * 1024

_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}"  # us-east-1, us-gov-west-1, cn-north-1, eu-central-2
_SNS_HOST = rf"sns\.{_REGION}\.amazonaws\.com(?:\.cn)?"
_SIGNING_CERT_URL = re.compile(rf"https://{_SNS_HOST}/SimpleNotificationService-[A-Za-z0-9]{{1,128}}\.pem", re.ASCII)
# The SubscribeURL carries its parameters in the query (?Action=ConfirmSubscription&TopicArn=...&Token=...).
_SUBSCRIBE_URL = re.compile(rf"https://{_SNS_HOST}/(?:\?[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*)?", re.ASCII)
_SNS_SIGNING_NAME = re.compile(rf"(?:sns|sns-signing)(?:\.{_REGION})?\.amazonaws\.com(?:\.cn)?", re.ASCII)

_HASH_BY_SIGNATURE_VERSION = {"1": "SHA1", "2": "SHA256"}  # names in cryptography's `hashes`

_NOTIFICATION_SIGNED_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_SIGNED_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


class SnsVerificationError(SnsMessageError):
    """The message cannot be shown to come from Amazon SNS (HTTP 403)."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason, status)


class CertificateUnavailableError(SnsVerificationError):
    """The SNS host could not be reached or failed (HTTP 503), so SNS should retry the delivery.

    SNS retries only deliveries answered with a 5xx or not answered at all; a 4xx drops the message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status=503)


def signing_cert_url_is_allowed(url: object) -> bool:
    """Whether `url` is `https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<id>.pem`.

    An exact pattern rather than a URL parser: parsers disagree on userinfo, ports, backslashes and
    percent-escapes, and every such disagreement is a way to reach another host.
    """
    return isinstance(url, str) and _SIGNING_CERT_URL.fullmatch(url) is not None


def subscribe_url_is_allowed(url: object) -> bool:
    """Whether `url` is an https URL on an SNS host (path `/`, any query), safe to GET to confirm."""
    return isinstance(url, str) and _SUBSCRIBE_URL.fullmatch(url) is not None


def is_sns_signing_name(name: str) -> bool:
    return _SNS_SIGNING_NAME.fullmatch(name) is not None


def signed_fields(message: SnsMessage) -> list[tuple[str, str]]:
    """The (name, value) pairs SNS signs, in the order it signs them; an absent Subject is left out."""
    values = {
        "Message": message.message,
        "MessageId": message.message_id,
        "Subject": message.subject,
        "SubscribeURL": message.subscribe_url,
        "Timestamp": message.timestamp_text,
        "Token": message.token,
        "TopicArn": message.topic_arn,
        "Type": message.type.value,
    }
    names = _NOTIFICATION_SIGNED_FIELDS if message.type is SnsMessageType.NOTIFICATION else _CONFIRMATION_SIGNED_FIELDS
    return [(name, value) for name in names if (value := values[name]) is not None]


def canonical_string(message: SnsMessage) -> bytes:
    """The bytes SNS signed: each signed field as `Name\\nValue\\n`."""
    return "".join(f"{name}\n{value}\n" for name, value in signed_fields(message)).encode("utf-8")


class CertificateSource(Protocol):
    """Where SNS signing certificates come from. Implementations refuse URLs that are not allowed."""

    async def get(self, url: str) -> x509.Certificate: ...


class PinnedCertificateDirectory:
    """Certificates from a local directory, the file named as the URL's basename; never fetches.

    For clusters without outbound access (POSTROOM_SNS_CERT_DIR).
    """

    def __init__(self, directory: Path | str) -> None:
        self._directory = Path(directory)

    async def get(self, url: str) -> x509.Certificate:
        _require_allowed_signing_cert_url(url)
        file_name = url.rsplit("/", 1)[1]  # safe as a file name: the URL pattern allows [A-Za-z0-9.-] only
        path = self._directory / file_name
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise SnsVerificationError(
                f"no pinned SNS certificate {file_name} in {self._directory}; add it there to accept this message"
            ) from None
        except OSError as error:
            raise SnsVerificationError(f"cannot read pinned SNS certificate {path}: {error.strerror}") from error
        return _certificate_from_pem(pem, url)


class HttpsCertificateFetcher:
    """Certificates downloaded from SNS: allowed URLs only, short timeout, no redirects, size cap.

    Caching lives in `SnsSignatureVerifier`, so this class downloads every time it is asked.
    """

    def __init__(
        self,
        session: SnsSession,
        *,
        timeout_seconds: float = CERTIFICATE_FETCH_TIMEOUT_SECONDS,
        max_bytes: int = MAX_CERTIFICATE_BYTES,
    ) -> None:
        self._session = session
        self._timeout_seconds = timeout_seconds
        self._max_bytes = max_bytes

    async def get(self, url: str) -> x509.Certificate:
        _require_allowed_signing_cert_url(url)
        return _certificate_from_pem(await self._download(url), url)

    async def _download(self, url: str) -> bytes:
        try:
            async with self._session.get(url, timeout_seconds=self._timeout_seconds) as response:
                _require_ok(response, url)
                return await _read_at_most(response, self._max_bytes, url)
        except aiohttp.ClientConnectorDNSError as error:
            # An unknown host (a made-up region) is the sender's doing: no point in SNS retrying it.
            raise SnsVerificationError(f"cannot resolve the host of SigningCertURL {url}") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise CertificateUnavailableError(
                f"could not download the SNS signing certificate {url}: {type(error).__name__}"
            ) from error


def _require_ok(response: aiohttp.ClientResponse, url: str) -> None:
    if response.status == 200:
        return
    if response.status >= 500:
        raise CertificateUnavailableError(f"SNS answered {response.status} for the signing certificate {url}")
    raise SnsVerificationError(
        f"SNS answered {response.status} for the signing certificate {url} (redirects are not followed)"
    )


async def _read_at_most(response: aiohttp.ClientResponse, max_bytes: int, url: str) -> bytes:
    declared_too_large = response.content_length is not None and response.content_length > max_bytes
    body = bytearray()
    if not declared_too_large:
        async for chunk in response.content.iter_chunked(16 * 1024):
            body += chunk
            if len(body) > max_bytes:
                break
    if declared_too_large or len(body) > max_bytes:
        raise SnsVerificationError(f"the signing certificate at {url} is larger than {max_bytes} bytes")
    return bytes(body)


def _certificate_from_pem(pem: bytes, url: str) -> x509.Certificate:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as error:
        raise SnsVerificationError(f"the signing certificate for {url} is not a PEM X.509 certificate") from error


def _require_allowed_signing_cert_url(url: str) -> None:
    if not signing_cert_url_is_allowed(url):
        raise SnsVerificationError(
            f"SigningCertURL {url!r} is not https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<id>.pem"
        )


@dataclass(frozen=True, slots=True)
class _SigningKey:
    public_key: rsa.RSAPublicKey
    not_valid_before: datetime
    not_valid_after: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SnsSignatureVerifier:
    """Checks SNS messages; `verify` returns normally or raises `SnsVerificationError`.

    Certificates are parsed once per URL and their public keys kept, so a verification after the
    first costs one RSA check. Concurrent messages signed with a new certificate share one download.
    """

    def __init__(
        self,
        certificates: CertificateSource,
        *,
        max_age: timedelta | None = DEFAULT_MAX_AGE,
        max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
        clock: Callable[[], datetime] = _utc_now,
        max_cached_certificates: int = 256,
    ) -> None:
        self._certificates = certificates
        self._max_age = max_age
        self._max_clock_skew = max_clock_skew
        self._clock = clock
        self._max_cached = max_cached_certificates
        self._keys: dict[str, _SigningKey] = {}
        self._loading: dict[str, asyncio.Future[_SigningKey]] = {}

    async def verify(self, message: SnsMessage) -> None:
        hash_algorithm = _hash_for(message.signature_version)
        _require_allowed_signing_cert_url(message.signing_cert_url)
        self._require_fresh(message.timestamp)
        signature = _decoded_signature(message.signature)
        key = await self._signing_key(message.signing_cert_url)
        _require_valid_at(key, message.timestamp)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            key.public_key.verify(signature, canonical_string(message), padding.PKCS1v15(), hash_algorithm)
        except InvalidSignature:
            raise SnsVerificationError("the SNS signature does not match the message") from None

    def _require_fresh(self, timestamp: datetime) -> None:
        now = self._clock()
        if self._max_age is not None and now - timestamp > self._max_age:
            raise SnsVerificationError(
                f"the message was sent at {timestamp.isoformat()}, more than {self._max_age} ago: refused as a replay"
            )
        if timestamp - now > self._max_clock_skew:
            raise SnsVerificationError(f"the message Timestamp {timestamp.isoformat()} is in the future")

    async def _signing_key(self, url: str) -> _SigningKey:
        if (key := self._keys.get(url)) is not None:
            return key
        loading = self._loading.get(url)
        if loading is None:
            loading = asyncio.ensure_future(self._load_signing_key(url))
            self._loading[url] = loading
            loading.add_done_callback(lambda _: self._loading.pop(url, None))
        # shield: one waiter giving up (client went away) must not cancel the download for the others
        return await asyncio.shield(loading)

    async def _load_signing_key(self, url: str) -> _SigningKey:
        certificate = await self._certificates.get(url)
        key = _signing_key_from(certificate, url)
        if len(self._keys) >= self._max_cached:
            self._keys.pop(next(iter(self._keys)))
        self._keys[url] = key
        return key


def _hash_for(signature_version: str) -> hashes.HashAlgorithm:
    hash_name = _HASH_BY_SIGNATURE_VERSION.get(signature_version)
    if hash_name is None:
        raise SnsVerificationError(f"SignatureVersion {signature_version!r} is not supported; SNS uses 1 or 2")
    from cryptography.hazmat.primitives import hashes

    return getattr(hashes, hash_name)()


def _decoded_signature(signature: str) -> bytes:
    try:
        decoded = base64.b64decode(signature, validate=True)
    except ValueError:
        raise SnsVerificationError("the Signature is not base64") from None
    # base64 ignores the spare bits of its last character, so two spellings can decode alike;
    # only the one SNS writes is accepted, and a changed Signature can never still verify.
    if base64.b64encode(decoded).decode("ascii") != signature:
        raise SnsVerificationError("the Signature is not canonical base64")
    return decoded


def _signing_key_from(certificate: x509.Certificate, url: str) -> _SigningKey:
    names = _subject_names(certificate)
    if not any(is_sns_signing_name(name) for name in names):
        raise SnsVerificationError(f"the certificate at {url} is issued to {names or 'nobody'}, not to Amazon SNS")
    from cryptography.hazmat.primitives.asymmetric import rsa

    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SnsVerificationError(f"the certificate at {url} does not hold an RSA key")
    return _SigningKey(public_key, certificate.not_valid_before_utc, certificate.not_valid_after_utc)


def _subject_names(certificate: x509.Certificate) -> list[str]:
    """The subject's common names, or its DNS names when it has no common name."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    common_names = [
        str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    ]
    if common_names:
        return common_names
    try:
        alternative_names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return alternative_names.get_values_for_type(x509.DNSName)


def _require_valid_at(key: _SigningKey, timestamp: datetime) -> None:
    if not key.not_valid_before <= timestamp <= key.not_valid_after:
        raise SnsVerificationError(
            f"the signing certificate is valid from {key.not_valid_before.isoformat()} to "
            f"{key.not_valid_after.isoformat()}, not at the message Timestamp {timestamp.isoformat()}"
        )
