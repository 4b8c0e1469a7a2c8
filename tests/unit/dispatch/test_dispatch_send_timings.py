"""How long a worker's lease on a queued email lasts before another worker may take it."""

from __future__ import annotations

import pytest

from services.core.settings import Settings
from services.dispatch.sending import SendTimings


@pytest.mark.parametrize(
    "smtp_timeout, ack_wait, lease",
    [
        (15.0, 0.0, 60.0),  # four SMTP timeouts by default
        (0.5, 0.0, 5.0),  # never shorter than 5 s
        (15.0, 20.0, 20.0),  # POSTROOM_DISPATCH_ACK_WAIT wins when set
    ],
)
def test_the_lease_follows_the_smtp_timeout_unless_set(smtp_timeout, ack_wait, lease):
    settings = Settings(smtp_timeout=smtp_timeout, dispatch_ack_wait=ack_wait)
    assert SendTimings.for_settings(settings).ack_wait == lease


def test_the_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("POSTROOM_DISPATCH_ACK_WAIT", "42")
    assert Settings.from_env().dispatch_ack_wait == 42.0
