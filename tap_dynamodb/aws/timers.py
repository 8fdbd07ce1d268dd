"""An http_request_duration metric for every Scan and GetRecords call, from botocore's per-call events.

The timer spans the whole call, botocore's retries included: one point per call (a page),
none per item. Points of calls that succeeded are logged at DEBUG, of calls that failed at
INFO (metrics.py): one line per page at INFO made most of a long sync's stderr, and the
progress lines and the sync report (output/report.py) already say how fast pages come.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from .. import metrics

TIMED_OPERATIONS = ("Scan", "GetRecords")
_STARTED = "tap_dynamodb_started"
_TABLE = "tap_dynamodb_table"


def _service_event(client: Any, event: str, operation: str) -> str:
    return f"{event}.{client.meta.service_model.service_id.hyphenize()}.{operation}"


def _timer_start(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_STARTED] = time.monotonic()
    if "TableName" in params:
        context[_TABLE] = params["TableName"]


def _timer_point(operation: str, context: dict[str, Any], status: str, http_status: Optional[int]) -> None:
    started = context.get(_STARTED)
    if started is not None:
        metrics.request_duration(operation, time.monotonic() - started, status, http_status, context.get(_TABLE))


def install_request_timers(client: Any) -> None:
    """Log an http_request_duration timer for every Scan and GetRecords call of this client."""
    operations = set(client.meta.service_model.operation_names) & set(TIMED_OPERATIONS)
    for operation in operations:

        def after(http_response: Any, context: dict[str, Any], _op: str = operation, **_: Any) -> None:
            code = getattr(http_response, "status_code", None)
            status = metrics.SUCCEEDED if code is not None and code < 300 else metrics.FAILED
            _timer_point(_op, context, status, code)

        def after_error(context: dict[str, Any], _op: str = operation, **_: Any) -> None:
            _timer_point(_op, context, metrics.FAILED, None)

        client.meta.events.register(_service_event(client, "before-parameter-build", operation), _timer_start)
        client.meta.events.register(_service_event(client, "after-call", operation), after)
        client.meta.events.register(_service_event(client, "after-call-error", operation), after_error)
