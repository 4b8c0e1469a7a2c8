"""Typed event routing: what a projection declares is checked when it is wired, not discovered later."""

from __future__ import annotations

import pytest

from services.cli.catalog import SERVICE_MODULES, service_module
from services.core.event_routes import DeclarationError, EventRoutes, handles
from services.core.events import new_event
from services.core.generated.postroom.v1 import config_pb2, events_pb2
from services.core.projection import Projection, ProjectionRunner, ProjectionSet
from services.core.settings import Settings
from tests.support.counting_projection import CountingProjection, metadata
from tests.support.events import provider_deleted, provider_saved


class _Declaring(Projection):
    name = "test.declaring"
    version = 1
    metadata = metadata

    def new_changes(self) -> list:
        return []

    async def write(self, conn, changes) -> None:
        pass


def test_a_type_that_is_no_event_stops_the_runner_at_start_naming_it():
    class Mistaken(_Declaring):
        @handles(config_pb2.SaveProviderRequest)
        def saved(self, changes, stored, request) -> None: ...

    with pytest.raises(DeclarationError, match="test.declaring declares SaveProviderRequest, which is no event"):
        ProjectionRunner(Mistaken(), store=None, engine=None)


def test_a_handler_that_cannot_take_its_event_is_refused_naming_the_type():
    class Careless(_Declaring):
        @handles(events_pb2.BounceReceived)
        def bounce(self, bounce) -> None: ...

    with pytest.raises(DeclarationError, match="cannot handle BounceReceived: bounce"):
        ProjectionSet([Careless()])


def test_one_type_declared_twice_is_refused():
    class Twice(_Declaring):
        @handles(events_pb2.Unsubscribed)
        def one(self, changes, stored, payload) -> None: ...

        @handles(events_pb2.Unsubscribed)
        def other(self, changes, stored, payload) -> None: ...

    with pytest.raises(DeclarationError, match="declares Unsubscribed twice"):
        ProjectionSet([Twice()])


def test_a_projection_without_declarations_or_version_is_refused():
    with pytest.raises(DeclarationError, match="declares no event types"):
        ProjectionSet([_Declaring()])

    class Unversioned(CountingProjection):
        version = 0

    with pytest.raises(DeclarationError, match="schema version"):
        ProjectionSet([Unversioned()])


def test_the_filter_is_what_the_projections_declare_and_an_event_reaches_each_of_them():
    class Second(_Declaring):
        name = "test.second"

        @handles(events_pb2.ProviderSaved)
        def saved(self, changes, stored, saved) -> None:
            changes.append((stored.stream_seq, saved.provider_id))

        @handles(events_pb2.ProviderDeleted)
        def deleted(self, changes, stored, deleted) -> None:
            changes.append((stored.stream_seq, "deleted"))

    projections = ProjectionSet([CountingProjection(), Second()])
    assert projections.kinds == {"provider_saved", "provider_deleted"}
    changes = projections.new_changes()
    assert projections.collect(changes, 1, "", provider_saved("acme", "p1"))
    assert projections.collect(changes, 2, "", provider_deleted("acme", "p1"))
    assert not projections.collect(
        changes,
        3,
        "",
        new_event(events_pb2.Resubscribed(recipient_hash="h"), account_id="acme", aggregate_type="s", aggregate_id="a"),
    )
    assert changes == [{"p1": 1}, [(1, "p1"), (2, "deleted")]]


def test_a_reactor_can_use_the_same_declaration():
    class Reactor:
        @handles(events_pb2.ComplaintReceived)
        async def complaint(self, stored, complaint) -> None: ...

    routes = EventRoutes.of(Reactor(), arguments=2)
    assert routes.kinds == {"complaint_received"} and routes.declared == (events_pb2.ComplaintReceived,)


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_every_service_declares_a_valid_read_model_from_its_settings(service):
    projections = ProjectionSet(service_module(service).projections(Settings()))
    assert projections.kinds and all(version >= 1 for version in projections.versions.values())
