"""SES's standing of each provider's tenant, mirrored like the account's (ses_account.py).

A tenant carries one customer's reputation apart from the others'; SES may pause it alone
(SendingStatus DISABLED) and let it send again (REINSTATED). With SES API keys and a tenant saved,
config reads GetTenant at save and on each account poll, and appends a SesTenantObserved whenever
the status changed. Replicas may poll at once: the append expects the subject's last sequence.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from services.config.projection import ProviderReadModel
from services.config.ses_account import ses_api_target
from services.config.verification import SesApiTarget, read_ses_tenant_status
from services.core.event_store import EventStore
from services.core.events import SES_TENANT_AGGREGATE, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.periodic import every
from services.core.secret_box import SecretBox
from services.core.settings import Settings

log = logging.getLogger(__name__)


class SesTenantWatch:
    def __init__(self, settings: Settings, store: EventStore, read_model: ProviderReadModel, box: SecretBox) -> None:
        self.settings = settings
        self.store = store
        self.read_model = read_model
        self.box = box

    async def observe(self, account_id: str, provider_id: str, tenant: str, target: SesApiTarget) -> bool:
        """Read the tenant now and record it if it changed (True); a failed read is logged, never raised."""
        try:
            status = await read_ses_tenant_status(target, tenant)
        except (BotoCoreError, ClientError) as error:
            log.warning("SES tenant not read", extra={"provider_id": provider_id, "error": type(error).__name__})
            return False
        last = await self.store.last_event(SES_TENANT_AGGREGATE, provider_id)
        previous = last.event.ses_tenant_observed if last is not None and last.event.account_id == account_id else None
        if previous is not None and (previous.tenant_name, previous.sending_status) == (tenant, status):
            return False
        observed = events_pb2.SesTenantObserved(provider_id=provider_id, tenant_name=tenant, sending_status=status)
        event = new_event(
            observed, account_id=account_id, aggregate_type=SES_TENANT_AGGREGATE, aggregate_id=provider_id
        )
        if await self.store.append_after(event, last, patience=self.settings.append_patience) is None:
            return False  # another replica recorded it first
        log.info(
            "SES tenant state recorded", extra={"provider_id": provider_id, "tenant": tenant, "sending_status": status}
        )
        return True

    async def poll_forever(self) -> None:
        await every(self.settings.ses_account_poll_seconds, self.poll_once, "SES tenant poll")

    async def poll_once(self) -> None:
        for row in await self.read_model.with_ses_keys():
            if not row["ses_tenant"]:
                continue
            target = ses_api_target(row, self.box, self.settings.ses_endpoint_url)
            if target is not None:
                await self.observe(row["account_id"], row["provider_id"], row["ses_tenant"], target)
