"""Keeping a scan within a read-capacity budget (config `max_read_capacity_units_per_second`).

A Scan page's cost is known only after it was read (ReturnConsumedCapacity=TOTAL tells), so
the limiter is a token bucket that is paid afterwards: a request may start while the bucket
holds any capacity, its consumed units are then taken out (the bucket may go into debt), and
the next request waits until the debt is paid back at the configured rate. One limiter is
shared by every segment of a scan, so the budget holds for the table, not per thread. Over any
long stretch the consumed capacity stays within rate × time + one second's burst + one page.

Throttling by DynamoDB itself (ProvisionedThroughputExceededException, ThrottlingException) is
left to botocore's "standard" retry mode: exponential backoff with full jitter, up to
`max_attempts`. Its "adaptive" mode adds a client-side rate limiter that only helps callers
that share one client and have no budget of their own; this limiter is that budget, measured
in the table's own unit, so adaptive mode would only add a second, coarser throttle.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class CapacityLimiter:
    """A token bucket of read capacity units, refilled at `rate` per second, burst of one second."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = rate
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> None:
        """Wait until the budget allows another request (the bucket is not in debt)."""
        while True:
            with self._lock:
                self._refill()
                if self._tokens > 0:
                    return
                wait = -self._tokens / self.rate
            self._sleep(max(wait, 0.001))

    def spend(self, units: float) -> None:
        """Take the capacity a finished request consumed."""
        with self._lock:
            self._refill()
            self._tokens -= units


def limiter_for(rate: Optional[float]) -> Optional[CapacityLimiter]:
    """The limiter of a config's `max_read_capacity_units_per_second`, None when unset."""
    return CapacityLimiter(rate) if rate else None
