"""Failover (pure): which provider sends a paused provider's mail.

While the primary holds an email (a pause of any cause), the email goes through the first of the
primary's fallback providers, in their saved order, that is not holding it itself and whose From
identity covers the primary's From address: SES sends only from a verified identity, which is an
address or a domain. The From stays the primary's, so recipients see no difference; the fallback's
own connections and rate carry it. When the primary resumes, its mail goes through it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.core.email_address import domain_of
from services.dispatch.pauses import Pause, holding


@dataclass(frozen=True)
class Candidate:
    provider_id: str
    from_address: str
    pauses: tuple[Pause, ...] = ()
    exists: bool = True


def identity_covers(fallback_from: str, primary_from: str) -> bool:
    """The fallback sends from the same address, or from the same domain (a verified domain lets
    every address of it send)."""
    return fallback_from.lower() == primary_from.lower() or domain_of(fallback_from) == domain_of(primary_from)


def choose_sender(primary_from: str, candidates: Sequence[Candidate], transactional: bool) -> Candidate | None:
    """The first fallback that can take the email now, or None: it waits for the primary."""
    for candidate in candidates:
        if (
            candidate.exists
            and holding(candidate.pauses, transactional) is None
            and identity_covers(candidate.from_address, primary_from)
        ):
            return candidate
    return None
