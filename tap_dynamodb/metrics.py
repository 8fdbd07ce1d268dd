"""Singer metrics on stderr, in singer-python's format (`METRIC: {"type": "counter", ...}`).

They are logged through our own logger rather than singer-python's Counter/Timer classes,
because those call `singer.get_logger()`, which re-reads singer's logging.conf and would
replace the handler that masks secrets.

- `record_count` counter points are increments: the records of a stream since its last point
  (as singer-python's Counter writes them), so a runner sums them; one every few seconds per
  stream and one when the stream ends (output/report.py).
- `http_request_duration` timer points, one per Scan or GetRecords call (aws/timers.py), are
  logged at DEBUG when the call succeeded and at INFO when it failed: one per page made most of
  a long sync's stderr (docs/running.md).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Optional, Union

from singer.metrics import Metric, Status, Tag

METRICS_LOGGER = logging.getLogger("tap_dynamodb.metrics")

SUCCEEDED = Status.succeeded
FAILED = Status.failed


def _point(level: int, metric_type: str, metric: str, value: Union[int, float], tags: dict[str, Any]) -> None:
    if METRICS_LOGGER.isEnabledFor(level):
        point = {"type": metric_type, "metric": metric, "value": value, "tags": tags}
        METRICS_LOGGER.log(level, "METRIC: %s", json.dumps(point))


def record_count(stream: str, increment: int) -> None:
    """A record_count counter point: `increment` records of `stream` since its last point."""
    _point(logging.INFO, "counter", Metric.record_count, increment, {Tag.endpoint: stream})


def request_duration(
    operation: str, seconds: float, status: str, http_status: Optional[int], table: Optional[str]
) -> None:
    """An http_request_duration timer point for one AWS call (botocore's retries included):
    DEBUG when it succeeded, INFO when it failed."""
    tags: dict[str, Union[str, int]] = {Tag.endpoint: operation, Tag.status: status}
    if http_status is not None:
        tags[Tag.http_status_code] = http_status
    if table:
        tags["table"] = table
    level = logging.DEBUG if status == SUCCEEDED else logging.INFO
    _point(level, "timer", Metric.http_request_duration, round(seconds, 6), tags)
