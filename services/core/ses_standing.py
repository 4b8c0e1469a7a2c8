"""When SES's own standing of an account or a tenant means SES refuses its mail (pure).

Config shows it (GetProvider) and dispatch holds the mail by it: one rule for both."""

from __future__ import annotations


def account_sending_paused(enforcement_status: str, sending_enabled: bool) -> bool:
    """GetAccount: SES has shut the account down, or its sending is switched off (PROBATION still sends)."""
    return enforcement_status == "SHUTDOWN" or not sending_enabled


def tenant_sending_paused(sending_status: str) -> bool:
    """GetTenant: SES has disabled the tenant (REINSTATED sends again, as ENABLED does)."""
    return sending_status == "DISABLED"
