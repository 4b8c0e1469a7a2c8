"""A bound on the bytes of email content one dispatch process holds at once.

Each email in hand holds its content and the message built from it (attachments base64-encoded
take four thirds of their size) until SES has answered. With two hundred sends in flight and 1 MB
attachments, that alone was half a gigabyte. An email waits here for room before its content is
read; one larger than the whole budget goes when nothing else is in hand.

A part's content and its base64 lines are held once for all the emails in hand that carry it
(email_content.EmailContent shares them), so they are counted once: a campaign's 6 MB attachment
is 14 MB of the budget however many of its emails are in hand, not 14 MB each. A part counts for
at most half the budget, so that emails sharing one larger still go side by side. Bodies are
counted for each email (a bound: their text parts are shared too while a small cache keeps them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.dispatch.content import ContentRefs
from services.dispatch.room_in_order import RoomInOrder

ENCODED_FACTOR = 1.4  # base64 (4/3) and MIME line breaks, with the content itself beside it
OVERHEAD_BYTES = 16 * 1024  # headers and boundaries


@dataclass(frozen=True)
class InHand:
    """What an email will hold while it is sent."""

    own: int  # its bodies, as read and as built into the message, and its headers
    shared: Mapping[str, int] = field(default_factory=dict)  # part digest -> bytes, held once for all


def bytes_in_hand(refs: ContentRefs) -> InHand:
    bodies = sum(ref.size for ref in (refs.text, refs.html) if ref is not None)
    shared = {part.content.sha256: _with_encoding(part.content.size) for part in refs.parts}
    return InHand(_with_encoding(bodies) + OVERHEAD_BYTES, shared)


def _with_encoding(size: int) -> int:
    return int(size * (1 + ENCODED_FACTOR))


class MessageBudget(RoomInOrder[InHand]):
    """Emails are let in in the order they asked (services/dispatch/room_in_order.py): a large one
    is not passed over for ever by the small ones behind it."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.used = 0
        self._holders: dict[str, int] = {}  # shared digest -> emails in hand holding it
        self._shared_sizes: dict[str, int] = {}  # what each held digest counts for

    def _fits(self, in_hand: InHand) -> bool:
        return not self.used or self.used + self._needed(in_hand) <= self.capacity

    def _needed(self, in_hand: InHand) -> int:
        unheld = (self._counted(size) for digest, size in in_hand.shared.items() if digest not in self._holders)
        return in_hand.own + sum(unheld)

    def _take(self, in_hand: InHand) -> None:
        self.used += in_hand.own
        for digest, size in in_hand.shared.items():
            if digest not in self._holders:
                self._holders[digest] = 0
                self._shared_sizes[digest] = self._counted(size)
                self.used += self._shared_sizes[digest]
            self._holders[digest] += 1

    def _counted(self, shared_size: int) -> int:
        return min(shared_size, self.capacity // 2)

    def _give_back(self, in_hand: InHand) -> None:
        self.used -= in_hand.own
        for digest in in_hand.shared:
            self._holders[digest] -= 1
            if not self._holders[digest]:
                del self._holders[digest]
                self.used -= self._shared_sizes.pop(digest)
