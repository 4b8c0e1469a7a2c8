"""Typed event routing: a consumer declares the payload types it handles, one handler each.

    class SuppressionProjection(Projection):
        @handles(events_pb2.BounceReceived)
        def bounce(self, changes, stored, bounce): ...

The declaration is the only list of what a consumer reads: the runner derives its filter from it,
and `EventRoutes.of` checks it when the consumer is wired, so a type that is no event of
`protos/postroom/v1/events.proto`, a type handled twice, or a handler that cannot take what it
is given stops the service at start with a message naming them, instead of dropping events
silently.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from google.protobuf.message import Message

from services.core.events import Event

_HANDLED_TYPE = "__postroom_handles__"

# Each payload message of the Event `oneof`, by its full protobuf name, and its field name there.
PAYLOAD_FIELDS: dict[str, str] = {
    field.message_type.full_name: field.name for field in Event.DESCRIPTOR.oneofs_by_name["payload"].fields
}


class DeclarationError(ValueError):
    """A consumer's declared event types do not match events.proto or its handlers."""


def handles(payload_type: type[Message]) -> Callable[[Callable], Callable]:
    """Mark a method as the handler of one event payload type."""

    def mark(handler: Callable) -> Callable:
        setattr(handler, _HANDLED_TYPE, payload_type)
        return handler

    return mark


@dataclass(frozen=True)
class EventRoutes:
    """The handlers of one consumer, by the name of their payload in the Event `oneof`."""

    owner: str
    handlers: dict[str, Callable[..., Any]]
    declared: tuple[type[Message], ...]

    @classmethod
    def of(cls, consumer: object, *, arguments: int) -> "EventRoutes":
        """The routes `consumer` declares with @handles; each handler is called with `arguments`
        positional arguments. Raises DeclarationError naming what is wrong."""
        owner = getattr(consumer, "name", type(consumer).__name__)
        handlers: dict[str, Callable[..., Any]] = {}
        types: list[type[Message]] = []
        for attribute, declared in _declared_handlers(type(consumer)):
            field = _payload_field(owner, declared)
            if field in handlers:
                raise DeclarationError(f"{owner} declares {declared.DESCRIPTOR.name} twice; give it one handler")
            handler = getattr(consumer, attribute)
            _require_arity(owner, declared, attribute, handler, arguments)
            handlers[field] = handler
            types.append(declared)
        if not handlers:
            raise DeclarationError(f"{owner} declares no event types: mark its handlers with @handles(EventType)")
        return cls(owner, handlers, tuple(types))

    @property
    def kinds(self) -> frozenset[str]:
        """The payload field names routed here: the consumer's event filter."""
        return frozenset(self.handlers)


def _declared_handlers(consumer_type: type) -> list[tuple[str, type[Message]]]:
    found: list[tuple[str, type[Message]]] = []
    seen: set[str] = set()
    for klass in consumer_type.__mro__:
        for attribute, value in vars(klass).items():
            if attribute in seen:
                continue  # overridden in a subclass: the subclass decides
            seen.add(attribute)
            declared = getattr(value, _HANDLED_TYPE, None)
            if declared is not None:
                found.append((attribute, declared))
    return found


def _payload_field(owner: str, declared: object) -> str:
    descriptor = getattr(declared, "DESCRIPTOR", None)
    full_name = getattr(descriptor, "full_name", None)
    if full_name not in PAYLOAD_FIELDS:
        shown = getattr(descriptor, "name", None) or getattr(declared, "__name__", repr(declared))
        raise DeclarationError(
            f"{owner} declares {shown}, which is no event of protos/postroom/v1/events.proto "
            "(an event is a payload of Event's oneof)"
        )
    return PAYLOAD_FIELDS[full_name]


def _require_arity(owner: str, declared: type[Message], attribute: str, handler: object, arguments: int) -> None:
    if not callable(handler):
        raise DeclarationError(f"{owner} declares {declared.DESCRIPTOR.name} but {attribute} is not callable")
    try:
        inspect.signature(handler).bind(*range(arguments))
    except TypeError:
        raise DeclarationError(
            f"{owner} cannot handle {declared.DESCRIPTOR.name}: {attribute}() must take {arguments} arguments"
        ) from None
