"""SES configuration sets of one region: named groups of sending rules a message opts into with the
`X-SES-CONFIGURATION-SET` header. Pure.

The simulator keeps the options a set was created with and answers them back; of their rules it
applies the suppression options (which reasons the account's suppression list honours for the set).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.ses_sim.errors import AlreadyExists, InvalidValue, NotFound
from services.ses_sim.paging import one_page, page_size_of
from services.ses_sim.suppression_list import SUPPRESSION_REASONS

MAX_PAGE_SIZE = 1000
# SES: ASCII letters, digits, underscores and dashes, at most 64 characters.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
OPTION_NAMES = (
    "TrackingOptions",
    "DeliveryOptions",
    "ReputationOptions",
    "SendingOptions",
    "Tags",
    "SuppressionOptions",
    "VdmOptions",
    "ArchivingOptions",
    "MessageSecurityOptions",
)
# What GetConfigurationSet answers for options a set was created without.
_DEFAULTS: dict[str, Any] = {
    "DeliveryOptions": {"TlsPolicy": "OPTIONAL"},
    "ReputationOptions": {"ReputationMetricsEnabled": False},
    "SendingOptions": {"SendingEnabled": True},
    "Tags": [],
}


def require_configuration_set_name(name: object, field_name: str = "ConfigurationSetName") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidValue(
            field_name, f"{field_name} must be 1 to 64 ASCII letters, digits, underscores or dashes, not {name!r}."
        )
    return name


@dataclass
class ConfigurationSet:
    name: str
    created_at: datetime
    options: dict[str, Any] = field(default_factory=dict)

    def described(self) -> dict[str, Any]:
        """GetConfigurationSet's answer."""
        return {"ConfigurationSetName": self.name, **copy.deepcopy(_DEFAULTS), **copy.deepcopy(self.options)}

    @property
    def suppressed_reasons(self) -> tuple[str, ...] | None:
        """The reasons the set's suppression options name, or None when it has none (the account's apply)."""
        reasons = self.options.get("SuppressionOptions", {}).get("SuppressedReasons")
        return None if reasons is None else tuple(reasons)


def _checked_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise InvalidValue(unknown[0], f"Unknown configuration set option {unknown[0]}.")
    for name, value in options.items():
        if not isinstance(value, dict if name != "Tags" else list):
            raise InvalidValue(name, f"{name} must be {'a list' if name == 'Tags' else 'an object'}.")
    reasons = options.get("SuppressionOptions", {}).get("SuppressedReasons", [])
    if not isinstance(reasons, list) or any(reason not in SUPPRESSION_REASONS for reason in reasons):
        raise InvalidValue("SuppressionOptions.SuppressedReasons", "SuppressedReasons may hold BOUNCE and COMPLAINT.")
    return copy.deepcopy(options)


class ConfigurationSets:
    def __init__(self, region: str, account_id: str) -> None:
        self._arn_prefix = f"arn:aws:ses:{region}:{account_id}:configuration-set/"
        self._sets: dict[str, ConfigurationSet] = {}

    def create(self, name: object, options: dict[str, Any], now: datetime) -> ConfigurationSet:
        name = require_configuration_set_name(name)
        if name in self._sets:
            raise AlreadyExists(f"Configuration set <{name}> already exists.")
        created = ConfigurationSet(name, now, _checked_options(options))
        self._sets[name] = created
        return created

    def get(self, name: str) -> ConfigurationSet:
        found = self._sets.get(name)
        if found is None:
            raise NotFound(f"Configuration set <{name}> does not exist.")
        return found

    def find(self, name: str) -> ConfigurationSet | None:
        return self._sets.get(name)

    def delete(self, name: str) -> ConfigurationSet:
        return self._sets.pop(self.get(name).name)

    def page(
        self, name_contains: str, page_size: int | None, next_token: str | None
    ) -> tuple[list[ConfigurationSet], str | None]:
        size = page_size_of(page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        matching = [s for s in self._sets.values() if name_contains in s.name]
        return one_page(matching, lambda s: s.name, size, next_token)

    def all(self) -> list[ConfigurationSet]:
        return sorted(self._sets.values(), key=lambda s: s.name)

    def arn(self, configuration_set: ConfigurationSet) -> str:
        return self._arn_prefix + configuration_set.name

    def by_arn(self, arn: str) -> ConfigurationSet | None:
        return self._sets.get(arn.removeprefix(self._arn_prefix)) if arn.startswith(self._arn_prefix) else None
