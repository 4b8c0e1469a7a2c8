"""Every message the simulator accepted: the most recent in memory, each also written as a .eml file."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from services.ses_sim.attachments import MessagePart, message_parts
from services.ses_sim.ses_notifications import aws_timestamp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeptMessage:
    ses_message_id: str
    received_at: datetime
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes  # as SES sent it on: without X-SES-CONFIGURATION-SET and X-SES-TENANT
    region: str = ""
    configuration_set: str | None = None  # what those headers said
    tenant: str | None = None

    @cached_property
    def parts(self) -> list[MessagePart]:
        """Attachments and inline parts (parsed once: the inbox lists them for every message)."""
        return message_parts(self.data)

    def part_url(self, part: MessagePart) -> str:
        return f"/messages/{self.ses_message_id}/attachments/{part.index}"

    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)

    @cached_property
    def _headers(self) -> Message:
        return BytesHeaderParser(policy=policy.default).parsebytes(self.data)

    def header(self, name: str) -> str:
        try:
            value = self._headers.get(name)
        except Exception:  # a malformed header: show it raw rather than fail the listing
            value = message_from_bytes(self.data, policy=policy.compat32).get(name)
        return "" if value is None else str(value)

    def bodies(self) -> dict[str, str]:
        """The text and HTML bodies, decoded (empty strings when absent or undecodable)."""
        parsed, found = self.parsed(), {"text": "", "html": ""}
        for kind, subtype in (("text", "plain"), ("html", "html")):
            try:
                part = parsed.get_body(preferencelist=(subtype,))
                found[kind] = part.get_content() if part is not None else ""
            except (LookupError, ValueError, AttributeError):
                found[kind] = ""
        return found

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.ses_message_id,
            "received_at": aws_timestamp(self.received_at),
            "mail_from": self.mail_from,
            "recipients": list(self.recipients),
            "from": self.header("From"),
            "to": self.header("To"),
            "subject": self.header("Subject"),
            "size": len(self.data),
            "region": self.region,
            "configuration_set": self.configuration_set,
            "tenant": self.tenant,
            "attachments": [{**part.summary(), "url": self.part_url(part)} for part in self.parts],
        }

    def details(self) -> dict[str, Any]:
        raw_headers = BytesHeaderParser(policy=policy.compat32).parsebytes(self.data).items()
        return {
            **self.summary(),
            "headers": [{"name": name, "value": str(value)} for name, value in raw_headers],
            **self.bodies(),
        }


class Inbox:
    def __init__(self, directory: Path, max_kept: int) -> None:
        self.directory = directory
        self._max_kept = max_kept
        self._messages: OrderedDict[str, KeptMessage] = OrderedDict()
        directory.mkdir(parents=True, exist_ok=True)

    def keep(self, message: KeptMessage) -> None:
        self._messages[message.ses_message_id] = message
        while len(self._messages) > self._max_kept:
            self._messages.popitem(last=False)
        try:
            (self.directory / f"{message.ses_message_id}.eml").write_bytes(message.data)
        except OSError as error:
            log.warning("could not write the message file", extra={"error": str(error)})

    def newest_first(self, limit: int | None = None) -> list[KeptMessage]:
        messages = list(reversed(self._messages.values()))
        return messages if limit is None else messages[:limit]

    def get(self, ses_message_id: str) -> KeptMessage | None:
        return self._messages.get(ses_message_id)

    def clear(self) -> int:
        count = len(self._messages)
        self._messages.clear()
        return count

    def __len__(self) -> int:
        return len(self._messages)
