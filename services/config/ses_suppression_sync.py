"""SES's account-level suppression list, mirrored into Postroom's suppressions.

With SES API keys saved, config imports the list (ListSuppressedDestinations, every page) at save
and then every POSTROOM_SES_SUPPRESSION_SYNC_SECONDS, as SesSuppressionImported / Removed events
that dispatch and feedback apply by the one suppression rule. A resubscribe that asks for it
(SesSuppressionRemovalRequested) takes the address off the list of every provider of the account
(DeleteSuppressedDestination); this reactor reads those requests through its own durable consumer,
so a replay never calls SES.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from services.config.ses_account import ses_api_target
from services.config.ses_listings import SesListingsReadModel
from services.config.projection import ProviderReadModel
from services.config.suppression_mirror import import_msg_id, mirror_changes
from services.config.verification import SesApiTarget, delete_ses_suppression, list_ses_suppressions
from services.core.durable_worker import ConsumerPlan, Delivery, DurableWorker, Requeue
from services.core.event_routes import handles
from services.core.event_store import EventStore, PendingAppend
from services.core.events import SES_SUPPRESSION_AGGREGATE, SES_SUPPRESSION_REMOVAL_AGGREGATE, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.periodic import every
from services.core.secret_box import SecretBox
from services.core.settings import Settings

log = logging.getLogger(__name__)

DURABLE_NAME = "config-ses-suppression-removals"
RETRY_DELAY_SECONDS = 10.0


class SesSuppressionSync:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        providers: ProviderReadModel,
        listings: SesListingsReadModel,
        box: SecretBox,
    ) -> None:
        self.settings = settings
        self.store = store
        self.providers = providers
        self.listings = listings
        self.box = box
        plan = ConsumerPlan(
            durable=DURABLE_NAME,
            aggregate_type=SES_SUPPRESSION_REMOVAL_AGGREGATE,
            concurrency=4,
            ack_wait=60.0,
            retry_delay=RETRY_DELAY_SECONDS,
        )
        self.removals = DurableWorker(store, plan, self)

    # ---- importing ----

    async def sync(self, account_id: str, provider_id: str, target: SesApiTarget) -> int:
        """Import the list now; the number of events recorded. A failed read is logged, never raised:
        without the whole list nothing is recorded (a partial one would look like removals)."""
        try:
            listed = await list_ses_suppressions(target)
        except (BotoCoreError, ClientError) as error:
            log.warning(
                "SES suppression list not read", extra={"provider_id": provider_id, "error": type(error).__name__}
            )
            return 0
        changes = mirror_changes(provider_id, listed, await self.listings.known(account_id, provider_id))
        if changes.skipped:
            log.warning(
                "SES suppression entries not imported", extra={"provider_id": provider_id, "skipped": changes.skipped}
            )
        await self._append(account_id, [(payload, import_msg_id(payload)) for payload in changes.payloads])
        if changes.payloads:
            log.info(
                "SES suppression list imported", extra={"provider_id": provider_id, "events": len(changes.payloads)}
            )
        return len(changes.payloads)

    async def poll_forever(self) -> None:
        await every(self.settings.ses_suppression_sync_seconds, self.poll_once, "SES suppression import")

    async def poll_once(self) -> int:
        recorded = 0
        for row in await self.providers.with_ses_keys():
            target = ses_api_target(row, self.box, self.settings.ses_endpoint_url)
            if target is not None:
                recorded += await self.sync(row["account_id"], row["provider_id"], target)
        return recorded

    # ---- removing, when a resubscribe asks ----

    async def run_removals(self) -> None:
        await self.removals.run()

    async def finish_in_flight(self, grace: float) -> None:
        await self.removals.finish_in_flight(grace)

    @handles(events_pb2.SesSuppressionRemovalRequested)
    async def remove(self, delivery: Delivery, request: events_pb2.SesSuppressionRemovalRequested) -> None:
        account_id = delivery.event.account_id
        removed = []
        for row in await self.providers.with_ses_keys(account_id):
            target = ses_api_target(row, self.box, self.settings.ses_endpoint_url)
            if target is None:
                continue
            listing = (await self.listings.known(account_id, row["provider_id"])).get(request.recipient_hash)
            try:
                was_listed = await delete_ses_suppression(target, listing.recipient if listing else request.recipient)
            except (BotoCoreError, ClientError) as error:
                log.warning(
                    "SES suppression not removed; will retry",
                    extra={"provider_id": row["provider_id"], "error": type(error).__name__},
                )
                raise Requeue(RETRY_DELAY_SECONDS) from error
            if was_listed or listing:
                payload = events_pb2.SesSuppressionRemoved(
                    provider_id=row["provider_id"],
                    recipient_hash=request.recipient_hash,
                    recipient=request.recipient,
                    source=request.source,
                )
                removed.append((payload, f"ses-removed:{delivery.event.event_id}:{row['provider_id']}"))
        await self._append(account_id, removed, causation_id=delivery.event.event_id)

    async def _append(self, account_id: str, payloads: list[tuple[Any, str]], causation_id: str = "") -> None:
        # Any: an SesSuppressionImported or an SesSuppressionRemoved, both with a recipient_hash.
        pending = [
            PendingAppend(
                new_event(
                    payload,
                    account_id=account_id,
                    aggregate_type=SES_SUPPRESSION_AGGREGATE,
                    aggregate_id=payload.recipient_hash,
                    causation_id=causation_id,
                ),
                msg_id=msg_id,
            )
            for payload, msg_id in payloads
        ]
        for start in range(0, len(pending), 500):
            for outcome in await self.store.append_many_durably(
                pending[start : start + 500], patience=self.settings.append_patience
            ):
                if isinstance(outcome, Exception):
                    raise outcome
