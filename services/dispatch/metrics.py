"""The dispatch service's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from services.core.metrics import cached_labels

PROVIDER_PAUSED = Gauge("postroom_provider_paused", "1 while a provider is paused after repeated failures",
                        ["provider_id"])
# `provider` is the provider's rate key (account.provider_id), as on postroom_dispatch_send_rate, so a
# dashboard divides one by the other.
OUTCOMES = Counter("postroom_dispatch_outcomes_total", "Dispatch outcomes appended", ["outcome", "provider"])
SMTP_REPLIES = Counter("postroom_smtp_replies_total", "SMTP replies to DATA by code (0 = no reply)", ["code"])
outcomes = cached_labels(OUTCOMES)
smtp_replies = cached_labels(SMTP_REPLIES)
provider_paused = cached_labels(PROVIDER_PAUSED)
IN_FLIGHT = Gauge("postroom_dispatch_in_flight", "Queued emails this process is working on")
QUEUE_TO_SENT = Histogram("postroom_dispatch_queue_to_sent_seconds", "From EmailQueued to the 250 reply",
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))
SEND_RATE = Gauge("postroom_dispatch_send_rate", "The provider's shared send rate in force, recipients per second "
                  "(its limit, lowered for a while after SES throttling)", ["provider"])
RATE_CUTS = Counter("postroom_dispatch_rate_cuts_total", "Cuts of a provider's shared rate after 454 Throttling",
                    ["provider"])
QUOTA_USED = Gauge("postroom_dispatch_quota_used", "Recipients counted against SES's 24-hour quota", ["provider"])
QUOTA_REACHED = Gauge("postroom_dispatch_quota_reached", "1 while SES's daily quota holds a provider's mail back",
                      ["provider"])
REDELIVERIES_LEFT_TO_SENDER = Counter(
    "postroom_dispatch_redeliveries_left_to_sender_total",
    "Redelivered emails left alone because another live replica was still sending them (or had not answered)")
QUEUE_PENDING = Gauge("postroom_dispatch_queue_pending",
                      "Queued emails the shared consumer has not delivered yet (JetStream num_pending)")
QUEUE_ACK_PENDING = Gauge("postroom_dispatch_queue_ack_pending",
                          "Queued emails delivered to a worker and not yet settled (JetStream num_ack_pending)")
# The guard (another branch) exports the rate at which it holds a provider back, per provider and
# kind ("bounce" | "complaint"); the dashboard draws it where it exists. Defined here so both agree.
GUARD_LINE_METRIC = "postroom_dispatch_guard_line"
