"""Races on purpose: actions started in threads at the same moment, each on its own database connection.

The tests that use this show that a lock or a constraint holds when two people (or fifty writers) act at once,
so they need real concurrent sessions: PostgreSQL (see ``tests.services.postgres_race``) and
``django_db(transaction=True)``, since each thread commits on its own connection.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections

#: How long a thread waits at the start line for the others before the race is called off.
START_TIMEOUT_S = 30


@dataclass(frozen=True)
class Outcome:
    """What one action did: returned ``result`` or raised ``error``."""

    result: Any = None
    error: BaseException | None = None

    def get(self) -> Any:
        """The result; the action's exception is raised again here, in the test's thread."""
        if self.error is not None:
            raise self.error
        return self.result

    def refused(self, by: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
        """Whether the action was refused with ``by``; any other exception is raised again here."""
        if isinstance(self.error, by):
            return True
        self.get()
        return False


def run_at_once(*actions: Callable[[], Any], timeout: float = 60) -> list[Outcome]:
    """Run each action in its own thread, all released together at a barrier, and wait up to ``timeout``
    seconds for them; their outcomes in the order of ``actions``. Each thread closes its database connections
    when its action ends, so none is left open on the test database."""
    start = threading.Barrier(len(actions))
    outcomes: list[Outcome | None] = [None] * len(actions)

    def run(number: int, action: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=START_TIMEOUT_S)
            outcomes[number] = Outcome(result=action())
        except BaseException as error:  # handed to the test's thread
            outcomes[number] = Outcome(error=error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    unfinished = [number for number, outcome in enumerate(outcomes) if outcome is None]
    if unfinished:
        raise TimeoutError(f"actions {unfinished} did not finish within {timeout} s")
    return outcomes  # type: ignore[return-value]  # every slot is filled
