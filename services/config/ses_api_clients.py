"""botocore clients for a provider's SES API keys, all made from one botocore session.

A botocore session keeps each service model it loads (SESv2's is about 11 MB once parsed). A new
session per call loaded the models again each time, and the process kept the copies: config grew
by 45 MB over one provider's checks. From a shared session a client is cheap (a few ms, a third of
a MB), so one is made per call and dropped after it: no key outlives the call that used it.
botocore's sessions are not thread-safe and the calls run on worker threads, so clients are made
under a lock; a client itself may be used from any thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache, cached_property

_CONFIG = dict(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
_making = threading.Lock()
_session = None


@dataclass(frozen=True)
class SesApiTarget:
    region: str
    access_key_id: str
    secret_access_key: str
    endpoint_url: str = ""


class SesApiClients:
    """SESv2 for a target, and SES v1 made only when a call falls back to it (an older endpoint)."""

    def __init__(self, target: SesApiTarget) -> None:
        self._target = target
        self.v2 = _client("sesv2", target)

    @cached_property
    def v1(self):
        return _client("ses", self._target)


def _client(service: str, target: SesApiTarget):
    with _making:
        return _shared_session().create_client(
            service,
            region_name=target.region,
            endpoint_url=target.endpoint_url or None,
            aws_access_key_id=target.access_key_id,
            aws_secret_access_key=target.secret_access_key,
            config=_botocore_config(),
        )


def _shared_session():
    global _session
    if _session is None:
        # botocore is imported on the first SES call: it is 10 MB of a config process that has
        # no provider with SES keys yet (make run's, idle).
        import botocore.session

        _session = botocore.session.get_session()
    return _session


@cache
def _botocore_config():
    from botocore.config import Config

    return Config(**_CONFIG)
