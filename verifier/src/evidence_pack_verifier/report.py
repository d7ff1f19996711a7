"""What a verification found: the checks that passed, each with what it established, and the first that failed."""

from dataclasses import dataclass, field
from typing import Any


class CheckFailed(Exception):
    """Raised by a check: the pack does not hold; the message says why."""


@dataclass(frozen=True)
class Passed:
    check: str
    detail: str


@dataclass(frozen=True)
class Failure:
    check: str
    reason: str


@dataclass
class Report:
    """The outcome for one pack. ``ok`` only if every check ran and passed."""

    sha256: str
    passed: list[Passed] = field(default_factory=list)
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sha256": self.sha256,
            "passed": [{"check": passed.check, "detail": passed.detail} for passed in self.passed],
            "failure": None if self.failure is None else {"check": self.failure.check, "reason": self.failure.reason},
        }
