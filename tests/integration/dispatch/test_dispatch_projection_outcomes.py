"""The dispatches and guard read models on a real database: outcomes of every kind in one batch,
the provider that sent each email, and the guard's hard bounces and complaints."""

from __future__ import annotations

from sqlalchemy import select

from services.core.database import create_engine
from services.core.events import StoredEvent, new_event
from services.core.generated.postroom.v1 import events_pb2
from services.core.projection import ProjectionSet
from services.dispatch import events
from services.dispatch.domain import EmailRequest, Mailbox, SmtpOutcome, diagnose
from services.dispatch.projection.dispatches import DispatchesProjection, dispatches
from services.dispatch.projection.guard import GuardProjection
from services.dispatch.projection.queries import DispatchReadModel


def queued(n: int):
    return events.queued_event(
        EmailRequest("acme", "primary", to=(Mailbox(f"r{n}@example.org"),), subject="Hi", text_body="Hi"), f"d-{n}"
    )


class ProvidersModel:
    """The providers projection alone on a real database, fed one batch at a time; each batch
    answers the pauses then in force on acme/p1."""

    def __init__(self, url: str) -> None:
        from services.dispatch.projection.providers import DispatchProvidersProjection

        self.engine = create_engine(url)
        self.projection = ProjectionSet([DispatchProvidersProjection()])
        self.read_model = DispatchReadModel(self.engine)
        self.seq = 0

    async def start(self) -> ProvidersModel:
        await self.projection.create_tables(self.engine)
        return self

    async def apply(self, *batch) -> tuple:
        async with self.engine.begin() as conn:
            stored = []
            for event in batch:
                self.seq += 1
                stored.append(StoredEvent(self.seq, "", event))
            await self.projection.apply(conn, stored)
        _, pauses = await self.read_model.provider("acme", "p1")
        return pauses


def feedback(payload) -> events_pb2.Event:
    return new_event(payload, account_id="acme", aggregate_type="feedback", aggregate_id=payload.sns_message_id)


async def test_a_batch_of_mixed_outcomes_records_who_sent_each_and_the_guard_counts_feedback(read_model_settings):
    engine = create_engine(read_model_settings.database_url_for("dispatch-outcomes"))
    projection = ProjectionSet([DispatchesProjection(), GuardProjection()])
    await projection.create_tables(engine)
    first = [queued(n) for n in range(4)]
    async with engine.begin() as conn:
        await projection.apply(conn, [StoredEvent(seq + 1, "", event) for seq, event in enumerate(first)])
    ok = SmtpOutcome(250, "Ok 0100-abc")
    outcomes = [
        events.dispatched_event(first[0], ok, 1, ("r0@example.org",), "primary"),
        events.dispatched_event(first[1], ok, 1, ("r1@example.org",), "fallback"),
        events.failed_event(first[2], SmtpOutcome(554, "Rejected"), diagnose(SmtpOutcome(554, "Rejected")), 1),
        events.suppressed_event(first[3], "h", "hard_bounce"),
        feedback(events_pb2.BounceReceived(dispatch_id="d-1", bounce_type="Permanent", sns_message_id="s1")),
        feedback(events_pb2.BounceReceived(dispatch_id="d-0", bounce_type="Transient", sns_message_id="s2")),
        feedback(events_pb2.ComplaintReceived(dispatch_id="d-0", sns_message_id="s3")),
    ]
    async with engine.begin() as conn:
        await projection.apply(conn, [StoredEvent(seq + 10, "", event) for seq, event in enumerate(outcomes)])
    async with engine.connect() as conn:
        rows = {
            r["dispatch_id"]: (r["status"], r["sent_by_provider_id"])
            for r in (await conn.execute(select(dispatches))).mappings()
        }
    assert rows == {
        "d-0": ("DISPATCHED", "primary"),
        "d-1": ("DISPATCHED", "fallback"),
        "d-2": ("FAILED", ""),
        "d-3": ("SUPPRESSED", ""),
    }
    read_model = DispatchReadModel(engine)  # it only ever connects
    primary = await read_model.guard_records("acme", "primary", 10)
    fallback = await read_model.guard_records("acme", "fallback", 10)
    assert [(r.bounced, r.complained) for r in primary] == [(False, True)], "a soft bounce is not SES's bounce rate"
    assert [(r.bounced, r.complained) for r in fallback] == [(True, False)], "counted for the provider that sent it"

    resumed = events.resumed_event("acme", "fallback", "ops", "list cleaned")
    later = events.dispatched_event(queued(9), ok, 1, ("r9@example.org",), "fallback")
    async with engine.begin() as conn:
        await projection.apply(
            conn, [StoredEvent(30, "", resumed), StoredEvent(31, "", queued(9)), StoredEvent(32, "", later)]
        )
    assert len(await read_model.guard_records("acme", "fallback", 10)) == 1, "the guard counts afresh after a resume"
    await engine.dispose()


async def test_pauses_by_cause_and_what_lifts_each(read_model_settings):
    from services.core.events import SES_ACCOUNT_AGGREGATE
    from services.dispatch.guard import Scope
    from services.dispatch.pauses import Cause
    from tests.support.events import provider_saved

    model = await ProvidersModel(read_model_settings.database_url_for("dispatch-pauses")).start()
    read_model = model.read_model

    async def apply(*batch) -> set:
        return {(p.cause, p.scope) for p in await model.apply(*batch)}

    def observed(status: str, enabled: bool = True):
        return new_event(
            events_pb2.SesAccountObserved(provider_id="p1", enforcement_status=status, sending_enabled=enabled),
            account_id="acme",
            aggregate_type=SES_ACCOUNT_AGGREGATE,
            aggregate_id="p1",
        )

    legacy = new_event(
        events_pb2.ProviderPaused(provider_id="p1", reason="logins fail", consecutive_failures=5),
        account_id="acme",
        aggregate_type="provider_health",
        aggregate_id="p1",
    )
    guard_pause = events.paused_event(
        "acme", "p1", "bounce rate 4.1%", cause=Cause.GUARD, scope=Scope.NON_TRANSACTIONAL
    )
    assert await apply(provider_saved("acme", "p1", fallback_provider_ids=["p2"]), legacy) == {
        (Cause.FAILURES, Scope.ALL)
    }, "a pause recorded before causes existed is a failures pause of all mail"
    row, _ = await read_model.provider("acme", "p1")
    assert row["fallback_provider_ids"] == ("p2",)
    assert await apply(guard_pause, observed("SHUTDOWN")) == {
        (Cause.FAILURES, Scope.ALL),
        (Cause.GUARD, Scope.NON_TRANSACTIONAL),
        (Cause.SES_ACCOUNT, Scope.ALL),
    }
    assert await apply(provider_saved("acme", "p1")) == {
        (Cause.GUARD, Scope.NON_TRANSACTIONAL),
        (Cause.SES_ACCOUNT, Scope.ALL),
    }, "a save lifts failures only"
    assert await apply(events.resumed_event("acme", "p1", "ops", "list cleaned")) == {(Cause.SES_ACCOUNT, Scope.ALL)}
    assert await apply(observed("PROBATION")) == set(), "SES reviewing is not SES pausing"
    assert await apply(observed("HEALTHY", enabled=False)) == {(Cause.SES_ACCOUNT, Scope.ALL)}
    assert await apply(observed("HEALTHY"), guard_pause, events.resumed_event("acme", "p1", "ops", "ok")) == set()
    await model.engine.dispose()


async def test_a_disabled_tenant_pauses_its_provider_until_ses_reinstates_it(read_model_settings):
    from services.core.events import SES_TENANT_AGGREGATE
    from services.dispatch.guard import Scope
    from services.dispatch.pauses import Cause
    from tests.support.events import provider_saved

    model = await ProvidersModel(read_model_settings.database_url_for("dispatch-tenant-pauses")).start()

    async def apply(*batch) -> list:
        return [(p.cause, p.scope, p.reason) for p in await model.apply(*batch)]

    def observed(tenant: str, status: str):
        return new_event(
            events_pb2.SesTenantObserved(provider_id="p1", tenant_name=tenant, sending_status=status),
            account_id="acme",
            aggregate_type=SES_TENANT_AGGREGATE,
            aggregate_id="p1",
        )

    assert await apply(provider_saved("acme", "p1", ses_tenant="customer-a"), observed("customer-a", "ENABLED")) == []
    [(cause, scope, reason)] = await apply(observed("customer-a", "DISABLED"))
    assert (cause, scope) == (Cause.SES_TENANT, Scope.ALL) and "'customer-a'" in reason
    assert await apply(provider_saved("acme", "p1", ses_tenant="customer-a")) != [], "a save with that tenant holds"
    assert [c for c, _, _ in await apply(events.resumed_event("acme", "p1", "ops", "try"))] == [Cause.SES_TENANT]
    assert await apply(observed("customer-a", "REINSTATED")) == []
    assert (
        await apply(observed("customer-a", "DISABLED"), provider_saved("acme", "p1", ses_tenant="customer-b")) == []
    ), "the provider names another tenant now: SES's verdict on the old one no longer holds its mail"
    await model.engine.dispose()
