"""TLS client contexts: the system trust store plus an optional extra CA (a local SES stand-in)."""

from __future__ import annotations

import ssl
from functools import lru_cache


@lru_cache(maxsize=8)
def client_context(extra_ca_file: str = "") -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context
