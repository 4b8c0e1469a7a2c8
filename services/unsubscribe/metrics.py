"""The unsubscribe service's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

UNSUBSCRIBES = Counter("postroom_unsubscribes_total", "Unsubscribed events appended, by source", ["source"])
RESUBSCRIBES = Counter("postroom_resubscribes_total", "Resubscribed events appended, by source", ["source"])
TOKENS_REFUSED = Counter(
    "postroom_unsubscribe_tokens_refused_total",
    "Unsubscribe links refused: tampered, truncated, unknown key or expired",
)
COMPLAINTS_SEEN = Counter(
    "postroom_unsubscribe_complaints_seen_total", "ComplaintReceived events read by the complaint reactor"
)
