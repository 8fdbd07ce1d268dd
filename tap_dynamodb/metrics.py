"""Singer metrics on stderr, in singer-python's format (`METRIC: {"type": "counter", ...}`).

They are logged through our own logger rather than singer-python's Counter/Timer classes,
because those call `singer.get_logger()`, which re-reads singer's logging.conf and would
replace the handler that masks secrets. Counters are increments since the last point of the
same stream, as Singer's counters are.
"""

from __future__ import annotations

import logging
from typing import Optional, Union

from singer.metrics import Metric, Point, Status, Tag, log as log_metric

METRICS_LOGGER = logging.getLogger("tap_dynamodb.metrics")

SUCCEEDED = Status.succeeded
FAILED = Status.failed


def record_count(stream: str, increment: int) -> None:
    """A record_count counter point: `increment` records of `stream` since its last point."""
    log_metric(METRICS_LOGGER, Point("counter", Metric.record_count, increment, {Tag.endpoint: stream}))


def request_duration(
    operation: str, seconds: float, status: str, http_status: Optional[int], table: Optional[str]
) -> None:
    """An http_request_duration timer point for one AWS call (botocore's retries included)."""
    tags: dict[str, Union[str, int]] = {Tag.endpoint: operation, Tag.status: status}
    if http_status is not None:
        tags[Tag.http_status_code] = http_status
    if table:
        tags["table"] = table
    log_metric(METRICS_LOGGER, Point("timer", Metric.http_request_duration, round(seconds, 6), tags))
