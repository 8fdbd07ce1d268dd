"""Progress while a sync runs and a short report when it ends, on stderr.

Progress is Singer metrics in singer-python's format (`METRIC: {"type": "counter",
"metric": "record_count", ...}` and `"timer"` points named `http_request_duration`), which
Meltano and other runners parse. They are logged through our own logger rather than
through singer-python's Counter/Timer classes, because those call `singer.get_logger()`,
which re-reads singer's logging.conf and would replace the handler that masks secrets.

Costs are per page, never per item: the readers (full_table, log_based) call
`Report.page()` once per Scan page or GetRecords answer, and request timers hang off
botocore's per-call events, so the hot loop over items is untouched.

At the end, `Report.log_summary()` prints one line per stream: method, records,
pages/shards, seconds, records/s and where it started (first run, resumed from a
bookmark, reset...). It replaces Stitch's "loading report" for people running by hand.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Optional

from singer.metrics import Metric, Point, Status, Tag, log as log_metric

from .state import scan_in_progress

LOGGER = logging.getLogger("tap_dynamodb")
METRICS_LOGGER = logging.getLogger("tap_dynamodb.metrics")

RECORD_COUNT_INTERVAL = 5.0  # seconds between record_count points of a stream that is still running
TIMED_OPERATIONS = ("Scan", "GetRecords")

FIRST_RUN = "first run"
RESUMED = "resumed from bookmark"
RESET = "reset (replication method changed)"
STREAM_RESET = "reset (stream bookmarks no longer valid)"
NEW_VERSION = "new full scan after a complete one"


def start_origin(bookmark: dict, method: str, was_reset: bool) -> str:
    """Where a stream's sync starts, from its bookmark as the sync begins."""
    if was_reset:
        return RESET
    progress = {k: v for k, v in bookmark.items() if k != "last_replication_method" and v is not None}
    if not progress:
        return FIRST_RUN
    if scan_in_progress(bookmark):
        return RESUMED
    if method == "LOG_BASED" and progress.get("initial_full_table_complete"):
        return RESUMED
    return NEW_VERSION if progress.get("initial_full_table_complete") else FIRST_RUN


@dataclass
class StreamReport:
    """What one stream's sync did."""

    stream: str
    method: str
    origin: str
    started: float = field(default_factory=time.monotonic)
    finished: Optional[float] = None
    records: int = 0
    pages: int = 0
    shards: int = 0
    unreported: int = 0  # records not yet in a record_count point
    last_point: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


class Report:
    """Per-stream counters of one run; call it from the thread that writes records."""

    def __init__(self, interval: float = RECORD_COUNT_INTERVAL):
        self.interval = interval
        self.streams: dict = {}

    def start(self, stream: str, method: str, origin: str) -> StreamReport:
        entry = StreamReport(stream, method, origin)
        self.streams[stream] = entry
        return entry

    def _entry(self, stream: str) -> StreamReport:
        """The stream's entry; readers driven without sync() (tests, tools) get one on first use."""
        entry = self.streams.get(stream)
        return entry if entry is not None else self.start(stream, "unknown", "unknown")

    def page(self, stream: str, records: int) -> None:
        """One Scan page or GetRecords answer of `records` records has been written."""
        entry = self._entry(stream)
        entry.pages += 1
        entry.records += records
        entry.unreported += records
        now = time.monotonic()
        if now - entry.last_point >= self.interval:
            self._record_count(entry, now)

    def reset(self, stream: str) -> None:
        """LOG_BASED: the bookmarks could not be continued (stream aged out or replaced); re-replicating."""
        self._entry(stream).origin = STREAM_RESET

    def shard(self, stream: str) -> None:
        """LOG_BASED: one shard has been read (to its end or up to now)."""
        self._entry(stream).shards += 1

    def finish(self, stream: str, records: Optional[int] = None) -> StreamReport:
        """The stream is done; `records` (the sync's own count) covers readers that report no pages."""
        entry = self._entry(stream)
        if records is not None and records > entry.records:
            entry.unreported += records - entry.records
            entry.records = records
        entry.finished = time.monotonic()
        self._record_count(entry, entry.finished)
        return entry

    def _record_count(self, entry: StreamReport, now: float) -> None:
        log_metric(METRICS_LOGGER, Point("counter", Metric.record_count, entry.unreported,
                                         {Tag.endpoint: entry.stream}))
        entry.unreported = 0
        entry.last_point = now

    def summary_lines(self) -> list:
        """The sync report: a header and one aligned line per stream."""
        if not self.streams:
            return []
        rows = [("stream", "method", "records", "pages", "shards", "seconds", "records/s", "started")]
        for e in self.streams.values():
            status = e.origin if e.finished is not None else f"{e.origin}; did not finish"
            rows.append((e.stream, e.method, str(e.records), str(e.pages),
                         str(e.shards) if e.method == "LOG_BASED" else "-",
                         f"{e.seconds:.1f}", f"{e.rate:.0f}", status))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
                for row in rows]

    def log_summary(self) -> None:
        lines = self.summary_lines()
        if lines:
            LOGGER.info("Sync report:")
            for line in lines:
                LOGGER.info("  %s", line)


def _service_event(client, event: str, operation: str) -> str:
    return f"{event}.{client.meta.service_model.service_id.hyphenize()}.{operation}"


def _timer_start(params: dict, context: dict, **_) -> None:
    context["tap_dynamodb_started"] = time.monotonic()
    if "TableName" in params:
        context["tap_dynamodb_table"] = params["TableName"]


def _timer_point(operation: str, context: dict, status: str, http_status: Optional[int]) -> None:
    started = context.get("tap_dynamodb_started")
    if started is None:
        return
    tags = {Tag.endpoint: operation, Tag.status: status}
    if http_status is not None:
        tags[Tag.http_status_code] = http_status
    if context.get("tap_dynamodb_table"):
        tags["table"] = context["tap_dynamodb_table"]
    log_metric(METRICS_LOGGER, Point("timer", Metric.http_request_duration,
                                     round(time.monotonic() - started, 6), tags))


def install_request_timers(client) -> None:
    """Log an http_request_duration timer for every Scan and GetRecords call of this client.

    The timer spans the whole call, botocore's retries included; one point per call (a
    page), none per item.
    """
    operations = set(client.meta.service_model.operation_names) & set(TIMED_OPERATIONS)
    for operation in operations:
        def after(http_response, context, _op=operation, **_):
            code = getattr(http_response, "status_code", None)
            status = Status.succeeded if code is not None and code < 300 else Status.failed
            _timer_point(_op, context, status, code)

        def after_error(context, _op=operation, **_):
            _timer_point(_op, context, Status.failed, None)

        client.meta.events.register(_service_event(client, "before-parameter-build", operation), _timer_start)
        client.meta.events.register(_service_event(client, "after-call", operation), after)
        client.meta.events.register(_service_event(client, "after-call-error", operation), after_error)
