"""The dispatch service's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from services.core.metrics import cached_labels

PROVIDER_PAUSED = Gauge(
    "postroom_provider_paused",
    "1 while a provider is paused (repeated failures, the bounce/complaint guard, or SES's own account or "
    "tenant state)",
    ["provider_id"],
)
SES_ACCOUNT_SENDING = Gauge(
    "postroom_provider_ses_account_sending",
    "SES's own account state for a provider: 1 while "
    "SES sends its mail, 0 while the account is SHUTDOWN or sending is disabled",
    ["provider_id"],
)
SES_TENANT_SENDING = Gauge(
    "postroom_provider_ses_tenant_sending",
    "SES's standing of a provider's tenant: 1 while SES sends the tenant's mail (or the provider names no "
    "tenant), 0 while SES has the tenant DISABLED",
    ["provider_id"],
)
GUARD_BOUNCE_RATE = Gauge(
    "postroom_provider_guard_bounce_rate", "Trailing hard-bounce rate the guard sees", ["provider_id"]
)
GUARD_COMPLAINT_RATE = Gauge(
    "postroom_provider_guard_complaint_rate", "Trailing complaint rate the guard sees", ["provider_id"]
)
FAILOVERS = Counter(
    "postroom_dispatch_failovers_total",
    "Emails a paused provider handed to a fallback provider",
    ["provider_id", "fallback_provider_id"],
)
# `provider` is the provider's rate key (account.provider_id), as on postroom_dispatch_send_rate, so a
# dashboard divides one by the other.
OUTCOMES = Counter("postroom_dispatch_outcomes_total", "Dispatch outcomes appended", ["outcome", "provider"])
SMTP_REPLIES = Counter("postroom_smtp_replies_total", "SMTP replies to DATA by code (0 = no reply)", ["code"])
outcomes = cached_labels(OUTCOMES)
smtp_replies = cached_labels(SMTP_REPLIES)
provider_paused = cached_labels(PROVIDER_PAUSED)
ses_account_sending = cached_labels(SES_ACCOUNT_SENDING)
ses_tenant_sending = cached_labels(SES_TENANT_SENDING)
guard_bounce_rate = cached_labels(GUARD_BOUNCE_RATE)
guard_complaint_rate = cached_labels(GUARD_COMPLAINT_RATE)
failovers = cached_labels(FAILOVERS)
ACCEPTANCE_WAITS = Counter(
    "postroom_dispatch_acceptance_waits_total",
    "SendEmail and SendEmailBatch calls that waited for room among the emails being accepted "
    "(POSTROOM_DISPATCH_ACCEPTING_EMAILS)",
)
IN_FLIGHT = Gauge("postroom_dispatch_in_flight", "Queued emails this process is working on")
QUEUE_TO_SENT = Histogram(
    "postroom_dispatch_queue_to_sent_seconds",
    "From EmailQueued to the 250 reply",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
SEND_RATE = Gauge(
    "postroom_dispatch_send_rate",
    "The provider's shared send rate in force, recipients per second "
    "(its limit, lowered for a while after SES throttling)",
    ["provider"],
)
RATE_CUTS = Counter(
    "postroom_dispatch_rate_cuts_total", "Cuts of a provider's shared rate after 454 Throttling", ["provider"]
)
QUOTA_USED = Gauge("postroom_dispatch_quota_used", "Recipients counted against SES's 24-hour quota", ["provider"])
QUOTA_REACHED = Gauge(
    "postroom_dispatch_quota_reached", "1 while SES's daily quota holds a provider's mail back", ["provider"]
)
REDELIVERIES_LEFT_TO_SENDER = Counter(
    "postroom_dispatch_redeliveries_left_to_sender_total",
    "Redelivered emails left alone because another live replica was still sending them (or had not answered)",
)
QUEUE_PENDING = Gauge(
    "postroom_dispatch_queue_pending", "Queued emails the shared consumer has not delivered yet (JetStream num_pending)"
)
QUEUE_ACK_PENDING = Gauge(
    "postroom_dispatch_queue_ack_pending",
    "Queued emails delivered to a worker and not yet settled (JetStream num_ack_pending)",
)
# The rate at which the guard holds a provider's non-transactional mail back, per provider (rate
# key) and kind ("bounce" | "complaint"); the dashboard draws it beside the trailing rates.
GUARD_LINE_METRIC = "postroom_dispatch_guard_line"
GUARD_LINE = Gauge(
    GUARD_LINE_METRIC,
    "The guard line: the trailing rate at which the guard pauses a provider's non-transactional mail",
    ["provider", "kind"],
)
guard_line = cached_labels(GUARD_LINE)
