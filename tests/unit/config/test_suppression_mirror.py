"""What an import of SES's suppression list records (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.config.suppression_mirror import KnownListing, import_msg_id, mirror_changes
from services.config.verification import SesListedAddress
from services.core.generated.postroom.v1 import events_pb2
from services.core.ids import recipient_hash

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MS = int(T.timestamp() * 1000)


def test_new_entries_are_imported_with_reason_and_date():
    changes = mirror_changes("p1", [SesListedAddress("Pat@Example.com", "BOUNCE", T)], {})
    (imported,) = changes.payloads
    assert isinstance(imported, events_pb2.SesSuppressionImported)
    assert (imported.provider_id, imported.recipient_hash, imported.recipient, imported.ses_reason) == (
        "p1",
        recipient_hash("pat@example.com"),
        "Pat@Example.com",
        "BOUNCE",
    )
    assert imported.last_update_time.ToDatetime(tzinfo=UTC) == T


def test_an_unchanged_entry_records_nothing_and_a_changed_one_is_imported_again():
    hashed = recipient_hash("pat@example.com")
    known = {hashed: KnownListing("pat@example.com", "BOUNCE", MS)}
    assert mirror_changes("p1", [SesListedAddress("pat@example.com", "BOUNCE", T)], known).payloads == []
    (again,) = mirror_changes("p1", [SesListedAddress("pat@example.com", "COMPLAINT", T)], known).payloads
    assert again.ses_reason == "COMPLAINT"


def test_an_entry_gone_from_ses_is_removed():
    known = {recipient_hash("gone@example.com"): KnownListing("gone@example.com", "BOUNCE", MS)}
    (removed,) = mirror_changes("p1", [], known).payloads
    assert isinstance(removed, events_pb2.SesSuppressionRemoved)
    assert (removed.recipient, removed.source) == ("gone@example.com", "ses")


def test_entries_postroom_cannot_hold_are_skipped_and_counted():
    changes = mirror_changes(
        "p1",
        [SesListedAddress("not an address", "BOUNCE", T), SesListedAddress("pat@example.com", "SOMETHING_NEW", T)],
        {},
    )
    assert (changes.payloads, changes.skipped) == ([], 2)


def test_the_dedupe_key_names_the_listing():
    (imported,) = mirror_changes("p1", [SesListedAddress("pat@example.com", "BOUNCE", T)], {}).payloads
    assert import_msg_id(imported) == f"ses-listed:p1:{recipient_hash('pat@example.com')}:BOUNCE:{MS}"
