"""Dispatch rules (pure): what a valid send request is, what an SMTP reply means, when to retry.

No I/O here: the worker, the gRPC servicer and the tests call these with plain values.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from services.core.email_address import address_problem, text_problem
from services.core.errors import FieldViolation
from services.core.ids import IDENTIFIER_RULE, is_identifier, name_based_id, uuid7
from services.core.ses_message import MAX_MESSAGE_BYTES
from services.core.ses_headers import CONFIGURATION_SET_HEADER, TENANT_HEADER
from services.dispatch.attachments import SubmittedPart

MAX_RECIPIENTS = 50  # SES accepts at most 50 recipients per message
MAX_BATCH = 1000
MAX_SUBJECT_CHARS = 998  # RFC 5322 line limit; SES refuses longer
MAX_NAME_CHARS = 200
MAX_HEADER_VALUE_CHARS = 998
MAX_HEADERS = 50
MAX_TAGS = 49  # SES takes 50 message tags; Postroom's own dispatch-id tag is one
DISPATCH_ID_TAG = "postroom-dispatch-id"  # SES echoes tags in feedback events: it ties them to the dispatch
MAX_KEY_CHARS = 256

# A dispatch's status as the read model keeps it; SENDING is derived: QUEUED with an attempt made.
QUEUED, SENDING, DISPATCHED, FAILED, SUPPRESSED = "QUEUED", "SENDING", "DISPATCHED", "FAILED", "SUPPRESSED"
STATUSES = (QUEUED, SENDING, DISPATCHED, FAILED, SUPPRESSED)
DEFAULT_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES  # the provider's default: all SES takes
DEFAULT_MESSAGES_PER_CONNECTION = 50

HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # printable ASCII without ':' (RFC 5322 2.2)
_SES_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # SES message tag names and values
_LIST_ID = re.compile(r"^[A-Za-z0-9._@:/+-]{1,128}$")
# Headers Postroom writes itself; a caller setting them would forge or break the message.
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "List-Id",
        "X-Postroom-Dispatch-Id",
        "X-SES-MESSAGE-TAGS",
        "Return-Path",
        "Sender",
        CONFIGURATION_SET_HEADER,
        TENANT_HEADER,
    )
)  # the provider's own: one of each, or SES picks one

# The product page's wording for each troubleshooting case, and the fix in plain words.
INVALID_CREDENTIALS = "Invalid Credentials: these must be your SES SMTP credentials, not your AWS access keys"
UNVERIFIED_IDENTITY = (
    "Email address is not verified: the account is in the SES sandbox or the From address is unverified"
)
THROTTLING = "Throttling failure: Maximum sending rate exceeded"
DAILY_QUOTA = "Throttling failure: Daily message quota exceeded"
ACCOUNT_PAUSED = "Sending paused: SES has paused sending for this account"
TENANT_PAUSED = "Sending paused: SES has paused sending for this provider's tenant"
MESSAGE_TOO_LONG = "Message too long: the message is larger than the provider accepts"
PROVIDER_UNREACHABLE = "Dispatch Failed: the provider could not be reached"


class Case(str, enum.Enum):
    """The troubleshooting case a failed send belongs to (SendTestEmail names it)."""

    NONE = ""
    INVALID_CREDENTIALS = "invalid_credentials"
    UNVERIFIED_IDENTITY = "unverified_identity"
    THROTTLING = "throttling"
    DAILY_QUOTA = "daily_quota"
    ACCOUNT_PAUSED = "account_paused"
    TENANT_PAUSED = "tenant_paused"
    MESSAGE_TOO_LONG = "message_too_long"
    PROVIDER_UNREACHABLE = "provider_unreachable"
    TEMPORARY = "temporary_failure"
    REJECTED = "rejected"


HINTS = {
    Case.INVALID_CREDENTIALS: (
        "Create SMTP credentials in the Amazon SES console (SMTP settings > Create SMTP "
        "credentials), save them on the provider, and try again. AWS access keys do not work here."
    ),
    Case.UNVERIFIED_IDENTITY: (
        "Verify the From address or its domain under Amazon SES > Verified identities. While the "
        "account is in the sandbox every recipient must be verified too: request production "
        "access in the SES account dashboard."
    ),
    Case.THROTTLING: (
        "SES refused the rate: set the provider's max send rate to your SES sending quota (Account "
        "dashboard > Sending limits) or ask AWS for a higher quota. Postroom retries these by itself."
    ),
    Case.DAILY_QUOTA: (
        "SES's 24-hour sending quota (Max24HourSend) is used up: Postroom holds the mail and sends it "
        "as the 24-hour window rolls on. Ask AWS for a higher quota in the SES account dashboard."
    ),
    Case.ACCOUNT_PAUSED: (
        "SES has paused the account (its review found too many bounces or complaints, or sending "
        "was switched off): Postroom holds the mail until SES sends again. Read the notice in the "
        "AWS account's inbox and answer it in the SES console."
    ),
    Case.TENANT_PAUSED: (
        "SES has paused the provider's tenant (the tenant's own reputation, apart from the account's): "
        "Postroom holds the tenant's mail until SES reinstates it. Read the tenant's findings under "
        "Amazon SES > Tenants."
    ),
    Case.MESSAGE_TOO_LONG: (
        "SES accepts at most 40 MB per message after encoding: send large files as links, or shrink the images."
    ),
    Case.PROVIDER_UNREACHABLE: (
        "Check the Server Name and Port from Amazon SES > SMTP settings and that outbound "
        "connections to that port are allowed; if they are, SES may be briefly unavailable: "
        "Postroom keeps the mail queued and retries."
    ),
    Case.TEMPORARY: "SES is briefly unavailable; Postroom retries the message by itself.",
    Case.REJECTED: "SES rejected the message; read the SMTP reply, correct the message or its recipients, and send again.",
}


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient for this message: back off and try again
    WAIT = "wait"  # the provider takes no mail for a while (its daily quota): no attempt spent
    PROVIDER_DOWN = "provider_down"  # the provider, not the message: counts towards a pause
    FAILED = "failed"  # permanent: never retried


@dataclass(frozen=True)
class SmtpOutcome:
    """One attempt's result: an SMTP reply, or code 0 when no reply came (connection, TLS, timeout)."""

    code: int
    text: str
    connect_failed: bool = False

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}".strip() if self.code else self.text


@dataclass(frozen=True)
class Diagnosis:
    verdict: Verdict
    case: Case
    message: str
    hint: str


def diagnose(outcome: SmtpOutcome) -> Diagnosis:
    """What a reply means for this message and this provider, in the product page's words."""
    code, text = outcome.code, outcome.text
    if outcome.connect_failed or code == 0:
        verdict = Verdict.PROVIDER_DOWN if outcome.connect_failed else Verdict.RETRY
        return _diagnosis(verdict, Case.PROVIDER_UNREACHABLE, PROVIDER_UNREACHABLE)
    if 200 <= code < 300:
        return Diagnosis(Verdict.DELIVERED, Case.NONE, "", "")
    if code in (530, 535, 534, 538):
        return _diagnosis(Verdict.PROVIDER_DOWN, Case.INVALID_CREDENTIALS, INVALID_CREDENTIALS)
    lowered = text.lower()
    if code == 454 and "quota" in lowered:
        return _diagnosis(Verdict.WAIT, Case.DAILY_QUOTA, DAILY_QUOTA)
    if code == 454 and ("throttl" in lowered or "rate" in lowered):
        return _diagnosis(Verdict.RETRY, Case.THROTTLING, THROTTLING)
    if code == 554 and "sending paused for tenant" in lowered:
        # The tenant, not this message: the mail waits, as for the account below.
        return _diagnosis(Verdict.WAIT, Case.TENANT_PAUSED, TENANT_PAUSED)
    if code == 554 and "sending paused" in lowered:
        # The whole account, not this message: the mail waits (config's next GetAccount poll then
        # pauses the provider), rather than failing in the moment before the poll sees it.
        return _diagnosis(Verdict.WAIT, Case.ACCOUNT_PAUSED, ACCOUNT_PAUSED)
    if code == 552 or code == 554 and "too long" in lowered:
        return _diagnosis(Verdict.FAILED, Case.MESSAGE_TOO_LONG, MESSAGE_TOO_LONG)
    if code == 554 and "not verified" in lowered:
        return _diagnosis(Verdict.FAILED, Case.UNVERIFIED_IDENTITY, UNVERIFIED_IDENTITY)
    if 400 <= code < 500:
        return _diagnosis(Verdict.RETRY, Case.TEMPORARY, f"Temporary failure: {outcome.reply}")
    return _diagnosis(Verdict.FAILED, Case.REJECTED, f"Rejected: {outcome.reply}")


def _diagnosis(verdict: Verdict, case: Case, message: str) -> Diagnosis:
    return Diagnosis(verdict, case, message, HINTS[case])


_SES_ID = re.compile(r"^Ok\s+(\S+)", re.IGNORECASE)


def ses_message_id(reply_text: str) -> str:
    """SES answers DATA with `250 Ok <message id>`; the id ties SNS feedback to this send."""
    match = _SES_ID.match(reply_text.strip())
    return match.group(1) if match else ""


def backoff_seconds(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random (jitter in [0, 1)).

    Half fixed keeps a throttled provider from being hit again at once; half random spreads the
    retries of many workers that were throttled together."""
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    return step / 2 + step / 2 * jitter


# ---- send requests ----


@dataclass(frozen=True)
class Mailbox:
    address: str
    name: str = ""


@dataclass(frozen=True)
class EmailRequest:
    account_id: str
    provider_id: str
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...] = ()
    bcc: tuple[Mailbox, ...] = ()
    subject: str = ""
    text_body: str = ""
    html_body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    reply_to: Mailbox | None = None
    tags: tuple[tuple[str, str], ...] = ()
    list_id: str = ""
    idempotency_key: str = ""
    transactional: bool = False
    text_body_ref: str = ""  # content uploaded before, instead of text_body (resolved before checks)
    html_body_ref: str = ""
    attachments: tuple[SubmittedPart, ...] = ()

    @property
    def recipients(self) -> tuple[Mailbox, ...]:
        return self.to + self.cc + self.bcc


def request_violations(request: EmailRequest) -> list[FieldViolation]:
    """Every problem at once, each naming its field; CR or LF anywhere in a header is one."""
    violations = identity_violations(request.account_id, request.provider_id)
    violations += _recipient_violations(request)
    violations += _problems(
        [
            ("subject", text_problem(request.subject, max_length=MAX_SUBJECT_CHARS, required=True)),
            ("list_id", _list_id_problem(request.list_id)),
            ("idempotency_key", text_problem(request.idempotency_key, max_length=MAX_KEY_CHARS)),
        ]
    )
    if not request.text_body and not request.html_body:
        violations.append(FieldViolation("text_body", "a text_body or an html_body is required"))
    if request.reply_to is not None:
        violations += _mailbox_violations("reply_to", request.reply_to)
    violations += _header_violations(request.headers)
    violations += _tag_violations(request.tags)
    return violations


def identity_violations(account_id: str, provider_id: str) -> list[FieldViolation]:
    return _problems(
        [
            ("account_id", None if is_identifier(account_id) else IDENTIFIER_RULE),
            ("provider_id", None if is_identifier(provider_id) else IDENTIFIER_RULE),
        ]
    )


def _recipient_violations(request: EmailRequest) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    if not request.to:
        violations.append(FieldViolation("to", "at least one recipient is required"))
    if len(request.recipients) > MAX_RECIPIENTS:
        violations.append(
            FieldViolation(
                "to",
                f"at most {MAX_RECIPIENTS} recipients (to, cc and bcc together) "
                "per message; send one message per recipient for campaigns",
            )
        )
    for name, mailboxes in (("to", request.to), ("cc", request.cc), ("bcc", request.bcc)):
        for index, mailbox in enumerate(mailboxes):
            violations += _mailbox_violations(f"{name}[{index}]", mailbox)
    return violations


def _mailbox_violations(field_name: str, mailbox: Mailbox) -> list[FieldViolation]:
    return _problems(
        [
            (f"{field_name}.address", address_problem(mailbox.address)),
            (f"{field_name}.name", text_problem(mailbox.name, max_length=MAX_NAME_CHARS)),
        ]
    )


def _header_violations(headers: tuple[tuple[str, str], ...]) -> list[FieldViolation]:
    if len(headers) > MAX_HEADERS:
        return [FieldViolation("headers", f"at most {MAX_HEADERS} headers")]
    violations = []
    for name, value in headers:
        if not HEADER_NAME.fullmatch(name):
            violations.append(FieldViolation(f"headers[{name!r}]", "a header name is printable ASCII without ':'"))
        elif name.lower() in RESERVED_HEADERS:
            violations.append(FieldViolation(f"headers[{name}]", "is set by Postroom; use the request's own field"))
        problem = text_problem(value, max_length=MAX_HEADER_VALUE_CHARS)
        if problem:
            violations.append(FieldViolation(f"headers[{name}]", problem))
    return violations


def _tag_violations(tags: tuple[tuple[str, str], ...]) -> list[FieldViolation]:
    if len(tags) > MAX_TAGS:
        return [FieldViolation("tags", f"at most {MAX_TAGS} tags (SES takes 50; Postroom sets one itself)")]
    violations = [
        FieldViolation(f"tags[{name}]", "names and values are letters, digits, '_' or '-' (as SES requires)")
        for name, value in tags
        if not (_SES_TAG.fullmatch(name) and _SES_TAG.fullmatch(value))
    ]
    if any(name == DISPATCH_ID_TAG for name, _ in tags):
        violations.append(FieldViolation(f"tags[{DISPATCH_ID_TAG}]", "is set by Postroom: it carries the dispatch id"))
    return violations


def _list_id_problem(list_id: str) -> str | None:
    if list_id and not _LIST_ID.fullmatch(list_id):
        return "must be 1-128 letters, digits or . _ @ : / + -"
    return None


def _problems(checks: list[tuple[str, str | None]]) -> list[FieldViolation]:
    return [FieldViolation(name, problem) for name, problem in checks if problem]


def dispatch_id_for(account_id: str, idempotency_key: str) -> str:
    """The same key for the same account names the same dispatch: idempotency by construction."""
    if not idempotency_key:
        return str(uuid7())
    return name_based_id(account_id, idempotency_key)


def size_upper_bound(request: EmailRequest) -> int:
    """A cheap bound on the encoded size: base64 is 4/3 plus line breaks; headers may triple when
    RFC 2047-encoded. When the bound fits the limit the message surely does, without building it."""
    body = len(request.text_body.encode()) + len(request.html_body.encode())
    header_chars = (
        len(request.subject)
        + sum(len(n) + len(v) for n, v in request.headers)
        + sum(len(m.address) + len(m.name) for m in request.recipients)
        + 64 * len(request.tags)
    )
    return body * 140 // 100 + header_chars * 4 * 3 + 16 * 1024


# ---- providers and their health ----


@dataclass(frozen=True)
class ProviderConfig:
    account_id: str
    provider_id: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str = field(repr=False)
    from_address: str
    from_name: str
    max_send_rate: float
    max_connections: int
    max_message_bytes: int
    max_messages_per_connection: int
    saved_seq: int
    ses_configuration_set: str = ""
    ses_tenant: str = ""
    fallback_provider_ids: tuple[str, ...] = ()

    @property
    def implicit_tls(self) -> bool:
        return self.smtp_port in (465, 2465)


def paused_reason(consecutive_failures: int, diagnosis: Diagnosis) -> str:
    return (
        f"paused after {consecutive_failures} failed sends in a row: {diagnosis.message}. "
        f"{diagnosis.hint} Saving the provider again (or `postroom provider resume`) resumes its mail."
    )


def is_paused(paused_seq: int, saved_seq: int) -> bool:
    """A ProviderPaused later in the stream than the provider's last save pauses it."""
    return paused_seq > saved_seq
