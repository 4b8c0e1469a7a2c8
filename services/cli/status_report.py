"""What `postroom status` shows, from scraped metrics and the stream's info: pure, no I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from services.feedback.domain import BOUNCE_PAUSE_RATE, BOUNCE_REVIEW_RATE, COMPLAINT_PAUSE_RATE, COMPLAINT_REVIEW_RATE

# One scrape: metric sample name -> [(labels, value)].
Samples = dict[str, list[tuple[dict[str, str], float]]]
LINES = {
    "bounce": {"review": BOUNCE_REVIEW_RATE, "pause": BOUNCE_PAUSE_RATE},
    "complaint": {"review": COMPLAINT_REVIEW_RATE, "pause": COMPLAINT_PAUSE_RATE},
}


@dataclass
class ProviderStatus:
    account_id: str
    provider_id: str
    paused: bool = False
    paused_reason: str = ""
    sends_per_second: float | None = None  # emails dispatched; None: dispatch's metrics did not answer
    allowed_per_second: float | None = None  # recipients, the shared rate in force
    bounce_rate: float | None = None
    complaint_rate: float | None = None

    @property
    def key(self) -> str:
        return f"{self.account_id}.{self.provider_id}"

    def line_crossed(self, kind: str) -> str:
        rate = self.bounce_rate if kind == "bounce" else self.complaint_rate
        if rate is None:
            return ""
        crossed = [name for name, line in LINES[kind].items() if rate >= line]
        return crossed[-1] if crossed else ""


@dataclass
class StreamStatus:
    name: str
    messages: int
    bytes: int
    leader: str
    replicas: int
    current: list[str] = field(default_factory=list)
    lagging: list[str] = field(default_factory=list)


@dataclass
class StatusReport:
    stream: StreamStatus
    providers: list[ProviderStatus]
    projection_lag: dict[str, float]
    queue_pending: float | None
    queue_ack_pending: float | None
    unreachable: dict[str, str]  # service -> the metrics URL that did not answer

    def as_json(self) -> dict:
        data = asdict(self)
        for provider, shown in zip(self.providers, data["providers"]):
            shown["bounce_line_crossed"] = provider.line_crossed("bounce")
            shown["complaint_line_crossed"] = provider.line_crossed("complaint")
        data["lines"] = LINES
        return data


def _by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {labels.get(label, ""): value for labels, value in samples.get(name, [])}


def sends_per_provider(before: Samples, after: Samples, seconds: float) -> dict[str, float]:
    """Recipients dispatched per second between two scrapes of the dispatch service, by rate key."""

    def totals(samples: Samples) -> dict[str, float]:
        counted: dict[str, float] = {}
        for labels, value in samples.get("postroom_dispatch_outcomes_total", []):
            if labels.get("outcome") == "EmailDispatched":
                counted[labels.get("provider", "")] = counted.get(labels.get("provider", ""), 0.0) + value
        return counted

    first, last = totals(before), totals(after)
    return {key: max(0.0, last[key] - first.get(key, 0.0)) / seconds for key in last} if seconds > 0 else {}


def providers(
    dispatch_before: Samples | None,
    dispatch_after: Samples | None,
    feedback: Samples | None,
    seconds: float,
    paused_reasons: dict[str, str],
) -> list[ProviderStatus]:
    found: dict[str, ProviderStatus] = {}

    def provider(account_id: str, provider_id: str) -> ProviderStatus:
        return found.setdefault(f"{account_id}.{provider_id}", ProviderStatus(account_id, provider_id))

    if dispatch_after is not None:
        for key, allowed in _by_label(dispatch_after, "postroom_dispatch_send_rate", "provider").items():
            provider(*_split(key)).allowed_per_second = allowed
        for key, rate in sends_per_provider(dispatch_before or {}, dispatch_after, seconds).items():
            provider(*_split(key)).sends_per_second = rate
        paused = _by_label(dispatch_after, "postroom_provider_paused", "provider_id")
        for entry in found.values():
            entry.sends_per_second = entry.sends_per_second or 0.0
            entry.paused = paused.get(entry.provider_id, 0.0) > 0
            entry.paused_reason = paused_reasons.get(entry.provider_id, "") if entry.paused else ""
    for labels, value in (feedback or {}).get("postroom_feedback_bounce_rate", []):
        provider(labels.get("account_id", ""), labels.get("provider_id", "")).bounce_rate = value
    for labels, value in (feedback or {}).get("postroom_feedback_complaint_rate", []):
        provider(labels.get("account_id", ""), labels.get("provider_id", "")).complaint_rate = value
    return sorted(found.values(), key=lambda entry: entry.key)


def _split(key: str) -> tuple[str, str]:
    account_id, _, provider_id = key.rpartition(".")
    return account_id, provider_id


def projection_lag(scrapes: dict[str, Samples]) -> dict[str, float]:
    lag: dict[str, float] = {}
    for samples in scrapes.values():
        lag.update(_by_label(samples, "postroom_projection_lag_events", "projection"))
    return dict(sorted(lag.items()))


def single(samples: Samples | None, name: str) -> float | None:
    values = [value for _labels, value in (samples or {}).get(name, [])]
    return sum(values) if values else None


def render(report: StatusReport) -> str:
    stream = report.stream
    out = [
        f"NATS stream {stream.name}: {stream.messages:,} events, {_bytes(stream.bytes)}, "
        f"leader {stream.leader or '(single server)'}, replicas {len(stream.current)}/{stream.replicas} current"
        + (f" (lagging: {', '.join(stream.lagging)})" if stream.lagging else "")
    ]
    queue = (
        "unknown"
        if report.queue_pending is None
        else f"{report.queue_pending:.0f} waiting, {report.queue_ack_pending or 0:.0f} with a worker"
    )
    out.append(f"Dispatch queue (shared by every provider): {queue}")
    out.append("")
    out.append("Providers" + ("" if report.providers else ": none seen in the metrics yet"))
    for entry in report.providers:
        out.append(
            f"  {entry.key}  {'PAUSED: ' + (entry.paused_reason or 'see dispatch logs') if entry.paused else 'sending'}"
        )
        out.append(
            f"    rate     {_rate(entry.sends_per_second)} emails sent; {_rate(entry.allowed_per_second)} recipients allowed"
        )
        out.append(f"    bounces  {_share(entry.bounce_rate, 'bounce', entry)}")
        out.append(f"    complaints {_share(entry.complaint_rate, 'complaint', entry)}")
    out.append("")
    out.append("Projections (events behind the stream)")
    out += [f"  {name:<28}{lag:,.0f}" for name, lag in report.projection_lag.items()] or ["  none reachable"]
    for service, url in report.unreachable.items():
        out.append(
            f"note: the {service} service's metrics did not answer at {url} (POSTROOM_{service.upper()}_METRICS_URL)"
        )
    return "\n".join(out)


def _rate(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}/s"


def _share(rate: float | None, kind: str, entry: ProviderStatus) -> str:
    lines = LINES[kind]
    against = f"(SES review {lines['review']:.1%}, pause {lines['pause']:.1%})"
    if rate is None:
        return f"? {against}"
    crossed = entry.line_crossed(kind)
    return f"{rate:.2%} {against}" + (f"  OVER THE {crossed.upper()} LINE" if crossed else "")


def _bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
