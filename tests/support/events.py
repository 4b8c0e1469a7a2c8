"""Building events for tests."""

from __future__ import annotations

from services.core.events import new_event
from services.core.generated.postroom.v1 import events_pb2


def provider_saved(account_id: str, provider_id: str, name: str = "SES", **overrides) -> events_pb2.Event:
    payload = events_pb2.ProviderSaved(
        provider_id=provider_id,
        name=name,
        type="SES",
        smtp_host="email-smtp.us-east-1.amazonaws.com",
        smtp_port=587,
        smtp_username="AKIAEXAMPLEUSER00001",
        smtp_password_sealed=b"\x01sealed",
        from_address="sender@example.com",
        region="us-east-1",
        max_send_rate=14.0,
        max_connections=10,
        **overrides,
    )
    return new_event(payload, account_id=account_id, aggregate_type="provider", aggregate_id=provider_id)


def provider_deleted(account_id: str, provider_id: str) -> events_pb2.Event:
    return new_event(
        events_pb2.ProviderDeleted(provider_id=provider_id),
        account_id=account_id,
        aggregate_type="provider",
        aggregate_id=provider_id,
    )
