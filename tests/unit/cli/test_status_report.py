from services.cli.status_report import StatusReport, StreamStatus, providers, render

KEY = "acme.p1"


def scrape(dispatched: float, paused: float = 0.0) -> dict:
    return {
        "postroom_dispatch_outcomes_total": [
            ({"outcome": "EmailDispatched", "provider": KEY}, dispatched),
            ({"outcome": "DispatchFailed", "provider": KEY}, 50.0),
        ],
        "postroom_dispatch_send_rate": [({"provider": KEY}, 14.0)],
        "postroom_provider_paused": [({"provider_id": "p1"}, paused)],
    }


FEEDBACK = {
    "postroom_feedback_bounce_rate": [({"account_id": "acme", "provider_id": "p1"}, 0.06)],
    "postroom_feedback_complaint_rate": [({"account_id": "acme", "provider_id": "p1"}, 0.0002)],
}


def test_a_provider_joins_dispatch_and_feedback_figures():
    (entry,) = providers(scrape(100), scrape(120), FEEDBACK, 2.0, {})
    assert (entry.account_id, entry.provider_id) == ("acme", "p1")
    assert entry.sends_per_second == 10.0 and entry.allowed_per_second == 14.0 and not entry.paused
    assert entry.line_crossed("bounce") == "review" and entry.line_crossed("complaint") == ""


def test_a_paused_provider_says_why_on_the_screen():
    (entry,) = providers(
        scrape(1, paused=1), scrape(1, paused=1), FEEDBACK, 1.0, {"p1": "535 Authentication Credentials Invalid"}
    )
    report = StatusReport(
        StreamStatus("POSTROOM", 10, 4096, "n1", 3, ["n1", "n2"], ["n3"]),
        [entry],
        {"dispatch": 0.0},
        3.0,
        1.0,
        {"unsubscribe": "http://127.0.0.1:9104/metrics"},
    )
    screen = render(report)
    assert "PAUSED: 535 Authentication Credentials Invalid" in screen
    assert (
        "0.0/s emails sent; 14.0/s recipients allowed" in screen
        and "6.00% (SES review 5.0%, pause 10.0%)  OVER THE REVIEW LINE" in screen
    )
    assert "replicas 2/3 current (lagging: n3)" in screen and "4.0 KiB" in screen
    assert "unsubscribe service's metrics did not answer" in screen
    assert report.as_json()["providers"][0]["bounce_line_crossed"] == "review"


def test_unreachable_dispatch_metrics_leave_rates_unknown_not_zero():
    (entry,) = providers(None, None, FEEDBACK, 1.0, {})
    assert entry.sends_per_second is None and entry.allowed_per_second is None
