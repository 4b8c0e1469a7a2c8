"""Errors as values with a reason a user can act on; transports map them to status codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class PostroomError(Exception):
    """Base of every error a caller may see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(PostroomError):
    def __init__(self, violations: list[FieldViolation], message: str = "") -> None:
        self.violations = list(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(message or f"invalid request: {summary}")


class NotFound(PostroomError):
    pass


class Conflict(PostroomError):
    """A stale version or an aggregate that already exists (gRPC ABORTED)."""


@dataclass(frozen=True)
class PreconditionViolation:
    type: str
    subject: str
    description: str


class FailedPrecondition(PostroomError):
    def __init__(self, message: str, violations: list[PreconditionViolation] | None = None) -> None:
        super().__init__(message)
        self.violations = list(violations or [])


class Unavailable(PostroomError):
    pass


def require(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(violations)
