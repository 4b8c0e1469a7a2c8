"""SES's own view of each provider's account, recorded in the log for the services that act on it.

With SES API keys saved, config reads GetAccount at save and then every
POSTROOM_SES_ACCOUNT_POLL_SECONDS, and appends a SesAccountObserved whenever SES's limits or
standing changed (AWS may lower an account's rate, or pause it, without notice). Dispatch reads
the newest one: its MaxSendRate caps the provider's rate and its Max24HourSend is the daily quota.
Replicas of config may poll at once: the append expects the subject's last sequence, so one
change is recorded once.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from services.config.domain import SesAccountState
from services.config.projection import ProviderReadModel
from services.config.verification import SesApiTarget, read_ses_account
from services.core.event_store import EventStore
from services.core.events import SES_ACCOUNT_AGGREGATE, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.periodic import every
from services.core.secret_box import SecretBox, SecretBoxError, provider_secret_aad
from services.core.settings import Settings

log = logging.getLogger(__name__)


class SesAccountWatch:
    def __init__(self, settings: Settings, store: EventStore, read_model: ProviderReadModel, box: SecretBox) -> None:
        self.settings = settings
        self.store = store
        self.read_model = read_model
        self.box = box

    async def observe(self, account_id: str, provider_id: str, target: SesApiTarget) -> None:
        """Read the account now and record it if it changed; a failed read is logged, never raised."""
        try:
            state = await read_ses_account(target)
        except (BotoCoreError, ClientError) as error:
            log.warning("SES account not read", extra={"provider_id": provider_id, "error": type(error).__name__})
            return
        last = await self.store.last_event(SES_ACCOUNT_AGGREGATE, provider_id)
        previous = last.event.ses_account_observed if last is not None and last.event.account_id == account_id else None
        if not state.changed_since(previous):
            return
        event = new_event(
            _observed(provider_id, state),
            account_id=account_id,
            aggregate_type=SES_ACCOUNT_AGGREGATE,
            aggregate_id=provider_id,
        )
        if await self.store.append_after(event, last, patience=self.settings.append_patience) is None:
            return  # another replica recorded it first
        log.info(
            "SES account state recorded",
            extra={
                "provider_id": provider_id,
                "max_send_rate": state.max_send_rate,
                "max_24_hour_send": state.max_24_hour_send,
                "enforcement_status": state.enforcement_status,
                "sending_enabled": state.sending_enabled,
            },
        )

    async def poll_forever(self) -> None:
        await every(self.settings.ses_account_poll_seconds, self.poll_once, "SES account poll")

    async def poll_once(self) -> None:
        for row in await self.read_model.with_ses_keys():
            target = ses_api_target(row, self.box, self.settings.ses_endpoint_url)
            if target is not None:
                await self.observe(row["account_id"], row["provider_id"], target)


def ses_api_target(row, box: SecretBox, endpoint_url: str) -> SesApiTarget | None:
    """Where and as whom to call the SES API for a provider row of `with_ses_keys`, or None when
    its sealed secret cannot be opened (a retired key)."""
    aad = provider_secret_aad(row["account_id"], row["provider_id"], "ses_secret")
    try:
        secret = box.open(row["ses_secret_access_key_sealed"], aad)
    except SecretBoxError:
        log.warning("SES secret cannot be opened; SES not called", extra={"provider_id": row["provider_id"]})
        return None
    return SesApiTarget(row["region"], row["ses_access_key_id"], secret, endpoint_url)


def _observed(provider_id: str, state: SesAccountState) -> events_pb2.SesAccountObserved:
    return events_pb2.SesAccountObserved(
        provider_id=provider_id,
        region=state.region,
        max_send_rate=state.max_send_rate,
        max_24_hour_send=state.max_24_hour_send,
        sent_last_24_hours=state.sent_last_24_hours,
        enforcement_status=state.enforcement_status,
        sending_enabled=state.sending_enabled,
        production_access_enabled=state.production_access_enabled,
    )
