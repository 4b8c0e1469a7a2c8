"""What importing SES's account-level suppression list records (pure): an event for each address
SES newly lists (or lists again, with a new reason or date), and one for each it no longer lists.

The reason names live in the one suppression rule (services/core/suppression_rule.py); an entry
whose reason SES may add one day, or whose address Postroom cannot hold, is left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from services.config.verification import SesListedAddress
from services.core.email_address import address_problem
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash
from services.core.suppression_rule import ses_list_reason

REMOVED_ON_SES = "ses"  # SesSuppressionRemoved.source: taken off in SES itself


@dataclass(frozen=True)
class KnownListing:
    """An address as Postroom last imported it from one provider's list."""

    recipient: str
    ses_reason: str
    last_update_ms: int


@dataclass
class MirrorChanges:
    payloads: list[Message] = field(default_factory=list)
    skipped: int = 0  # entries Postroom cannot hold (unknown reason, not an address)


def mirror_changes(provider_id: str, listed: list[SesListedAddress], known: dict[str, KnownListing]) -> MirrorChanges:
    """`known` is keyed by recipient hash; `listed` must be the whole list, every page."""
    changes, seen = MirrorChanges(), set()
    for entry in listed:
        if ses_list_reason(entry.reason) is None or address_problem(entry.email_address):
            changes.skipped += 1
            continue
        hashed = recipient_hash(entry.email_address)
        seen.add(hashed)
        millis = int(entry.last_update_time.timestamp() * 1000)
        before = known.get(hashed)
        if before is None or (before.ses_reason, before.last_update_ms) != (entry.reason, millis):
            changes.payloads.append(imported(provider_id, hashed, entry, millis))
    for hashed in sorted(set(known) - seen):
        changes.payloads.append(
            events_pb2.SesSuppressionRemoved(
                provider_id=provider_id, recipient_hash=hashed, recipient=known[hashed].recipient, source=REMOVED_ON_SES
            )
        )
    return changes


def imported(provider_id: str, hashed: str, entry: SesListedAddress, millis: int) -> events_pb2.SesSuppressionImported:
    payload = events_pb2.SesSuppressionImported(
        provider_id=provider_id, recipient_hash=hashed, recipient=entry.email_address, ses_reason=entry.reason
    )
    payload.last_update_time.FromMilliseconds(millis)
    return payload


def import_msg_id(payload: Message) -> str:
    """JetStream's dedupe key: replicas importing the same listing at once record it once."""
    if isinstance(payload, events_pb2.SesSuppressionImported):
        return (
            f"ses-listed:{payload.provider_id}:{payload.recipient_hash}:{payload.ses_reason}:"
            f"{payload.last_update_time.ToMilliseconds()}"
        )
    return f"ses-unlisted:{payload.provider_id}:{payload.recipient_hash}:{payload.source}"
