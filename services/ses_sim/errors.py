"""What the simulated SES refuses, as values. Pure.

Each entrypoint maps them once: the SESv2 API to SES's error codes (NotFoundException, ...), the
control endpoint to plain HTTP statuses.
"""

from __future__ import annotations


class SimulatorError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(SimulatorError):
    """The named resource does not exist (in this region)."""


class AlreadyExists(SimulatorError):
    """A resource of that name already exists (in this region)."""


class InvalidValue(SimulatorError):
    """A field has a value SES would refuse; `field` names it as SES's API does."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidNextToken(InvalidValue):
    def __init__(self) -> None:
        super().__init__("NextToken", "The NextToken is not valid: pass the one the previous page returned.")
