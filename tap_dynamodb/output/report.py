"""Progress while a sync runs and a short report when it ends, on stderr.

Every few seconds (RECORD_COUNT_INTERVAL) while a stream's records flow, two lines:
- a Singer `record_count` counter point (metrics.py): the records since the stream's last
  point, an increment, as singer-python's counters are; runners such as Meltano sum them;
- a progress line for people: records so far, records/s and, while a scan runs and the item
  count is known (DescribeTable's ItemCount, the index's for an index stream), percent and an
  ETA. ItemCount is refreshed by DynamoDB about every six hours, hence `~`; past it the line
  says so rather than show more than 100%. A resumed scan shows no percent (the records of the
  interrupted run are not counted here), nor does a LOG_BASED stream once it reads changes
  from its DynamoDB stream (their number is unknown). A line, not a bar: stderr is often a log.
Request timers come from the AWS clients (aws/timers.py), at DEBUG.

Costs are per page, never per item: the replication code calls `Report.page()` once per
Scan page or GetRecords answer, so the hot loop over items is untouched.

At the end, `Report.log_summary()` prints one line per stream: method, records,
pages/shards, TTL deletes skipped (LOG_BASED, with ttl_deletes: skip), seconds, records/s,
lag and margin (LOG_BASED) and where it started (first run, resumed from a bookmark, reset...);
then, for each stream whose full read came from a DynamoDB export, one line with the export's
ARN, whether it was new, reused or resumed, the wait for it, files, bytes and items read.
It replaces Stitch's "loading report" for people running by hand.

Lag and margin (LOG_BASED, from each GetRecords page's first and last ApproximateCreationDateTime,
wall clock `Report.wall_clock`, injectable for tests):
- lag: how old the newest change read in this run was when the stream's reading ended
  (`-` when the run read no change);
- margin: the DynamoDB stream's 24-hour retention minus the age, at the stream's start, of the
  oldest change then unread (the first record this run read: records of a shard come in order).
  A run that read no change, or only changes made after it started, had nothing at risk: the
  full 24h00m. Under `stream_lag_warning_hours` a WARNING says to run more often.
Both are also `change_lag` and `retention_margin` timer points (metrics.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from .. import metrics
from ..replication.bookmarks import Bookmark

LOGGER = logging.getLogger("tap_dynamodb")

RECORD_COUNT_INTERVAL = 5.0  # seconds between progress lines (and record_count points) of a running stream
RETENTION_SECONDS = 24 * 3600  # how long DynamoDB Streams keeps a change

FIRST_RUN = "first run"
RESUMED = "resumed from bookmark"
RESET = "reset (replication method changed)"
STREAM_RESET = "reset (stream bookmarks no longer valid)"
NEW_VERSION = "new full scan after a complete one"


def start_origin(bookmark: Bookmark, method: str, was_reset: bool) -> str:
    """Where a stream's sync starts, from its bookmark as the sync begins."""
    if was_reset:
        return RESET
    if bookmark.is_empty():
        return FIRST_RUN
    if bookmark.scan.in_progress:
        return RESUMED
    if method == "LOG_BASED" and bookmark.initial_full_table_complete:
        return RESUMED
    return NEW_VERSION if bookmark.initial_full_table_complete else FIRST_RUN


def item_count(table: dict[str, Any], index_name: Optional[str]) -> Optional[int]:
    """DescribeTable's ItemCount of the table, or of the index an index stream reads; None if unknown."""
    if index_name is None:
        count = table.get("ItemCount")
    else:
        indexes = (table.get("GlobalSecondaryIndexes") or []) + (table.get("LocalSecondaryIndexes") or [])
        count = next((index.get("ItemCount") for index in indexes if index.get("IndexName") == index_name), None)
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def format_duration(seconds: float) -> str:
    """12s, 3m05s, 2h10m."""
    whole = max(0, math.ceil(seconds - 0.5))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def change_time(record: dict[str, Any]) -> Optional[float]:
    """A wire-form stream record's ApproximateCreationDateTime (epoch seconds), None when absent."""
    created = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    try:
        return None if created is None else float(created)
    except (TypeError, ValueError):
        return None


SCAN = "scan"
CHANGES = "changes"

NEW_EXPORT = "new"
REUSED_EXPORT = "reused"
RESUMED_EXPORT = "resumed"


@dataclass
class ExportReport:
    """A full read from a DynamoDB export: which export, whether this run asked for it, and what it read."""

    export_arn: str
    origin: str  # new, reused (an existing export found with ListExports) or resumed (from the bookmark)
    wait_seconds: float = 0.0  # waiting for the export to complete
    files: int = 0  # data files of the export
    files_read: int = 0  # ... read to their end in this run
    bytes_read: int = 0  # gzip bytes of those files
    items: int = 0  # records written from the export in this run

    def line(self, stream: str) -> str:
        return (
            f"export of {stream}: {self.export_arn} ({self.origin}), waited {format_duration(self.wait_seconds)}, "
            f"{self.files_read} of {self.files} files, {self.bytes_read} bytes, {self.items} items"
        )


@dataclass
class StreamReport:
    """What one stream's sync did, and how far its present phase (a scan, or reading changes) is."""

    stream: str
    method: str
    origin: str
    started: float
    item_count: Optional[int] = None  # DescribeTable's, as the stream started
    finished: Optional[float] = None
    records: int = 0
    pages: int = 0
    shards: int = 0
    ttl_deletes_skipped: int = 0  # LOG_BASED with ttl_deletes: skip
    unreported: int = 0  # records not yet in a record_count point
    last_point: float = 0.0
    phase: str = SCAN
    phase_started: float = 0.0
    phase_records: int = 0
    expected: Optional[int] = None  # records the present phase should write (a fresh scan: ItemCount)
    resumed_scan: bool = False
    wall_started: float = 0.0  # epoch seconds, as the stream started
    oldest_change: Optional[float] = None  # LOG_BASED: ApproximateCreationDateTime of the oldest change read
    newest_change: Optional[float] = None  # ... and of the newest
    lag: Optional[float] = None  # seconds, set by Report.lag(): age of the newest change as reading ended
    margin: Optional[float] = None  # seconds of the 24-hour retention left at the start (Report.lag())
    export: Optional[ExportReport] = None  # when a full read came from a DynamoDB export

    def __post_init__(self) -> None:
        self.last_point = self.phase_started = self.started

    def seconds(self, now: float) -> float:
        return (self.finished or now) - self.started

    def rate(self, now: float) -> float:
        seconds = self.seconds(now)
        return self.records / seconds if seconds > 0 else 0.0


class Report:
    """Per-stream counters of one run; call it from the thread that writes records."""

    def __init__(
        self,
        interval: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.interval = RECORD_COUNT_INTERVAL if interval is None else interval
        self.clock = clock
        self.wall_clock = wall_clock  # epoch seconds, compared with ApproximateCreationDateTime
        self.streams: dict[str, StreamReport] = {}

    def start(self, stream: str, method: str, origin: str, item_count: Optional[int] = None) -> StreamReport:
        """A stream's sync starts; `item_count` is DescribeTable's ItemCount of what it reads."""
        entry = StreamReport(stream, method, origin, self.clock(), item_count, wall_started=self.wall_clock())
        entry.resumed_scan = origin == RESUMED
        entry.expected = None if entry.resumed_scan else item_count
        self.streams[stream] = entry
        return entry

    def scan_started(self, stream: str, resumed: bool) -> None:
        """A full scan begins (FULL_TABLE, or LOG_BASED's initial load or re-replication);
        `resumed` when it continues an interrupted one."""
        entry = self._entry(stream)
        self._phase(entry, SCAN, None if resumed else entry.item_count)
        entry.resumed_scan = resumed

    def changes_started(self, stream: str) -> None:
        """LOG_BASED: reading changes from the DynamoDB stream, how many is unknown."""
        self._phase(self._entry(stream), CHANGES, None)

    def _phase(self, entry: StreamReport, phase: str, expected: Optional[int]) -> None:
        entry.phase, entry.expected = phase, expected
        entry.phase_started, entry.phase_records = self.clock(), 0

    def _entry(self, stream: str) -> StreamReport:
        """The stream's entry; readers driven without sync() (tests, tools) get one on first use."""
        entry = self.streams.get(stream)
        return entry if entry is not None else self.start(stream, "unknown", "unknown")

    def page(self, stream: str, records: int) -> None:
        """One Scan page or GetRecords answer of `records` records has been written."""
        entry = self._entry(stream)
        entry.pages += 1
        entry.records += records
        entry.phase_records += records
        entry.unreported += records
        now = self.clock()
        if now - entry.last_point >= self.interval:
            self._record_count(entry, now)
            LOGGER.info("%s", self.progress_line(entry, now))

    def progress_line(self, entry: StreamReport, now: float) -> str:
        """`Progress of orders: 30000 records, 3000 records/s, ~50% of ~60000 items, ETA 10s`."""
        seconds = now - entry.phase_started
        rate = entry.phase_records / seconds if seconds > 0 else 0.0
        head = f"Progress of {entry.stream}: {entry.records} records"
        if entry.phase == CHANGES:
            return f"{head}; DynamoDB stream: {entry.phase_records} changes, {rate:.0f} records/s (total unknown)"
        head += f", {rate:.0f} records/s"
        if entry.resumed_scan:
            return f"{head} (resumed scan: the interrupted run's records are not counted, so no percent)"
        total = entry.expected
        if not total:
            return head
        done = entry.phase_records
        if done > total:
            return f"{head}, past the ~{total} items of ItemCount (DynamoDB refreshes it about every 6 hours)"
        if done == total:
            return f"{head}, ~100% of ~{total} items"
        eta = format_duration((total - done) / rate) if rate > 0 else "unknown"
        return f"{head}, ~{100 * done // total}% of ~{total} items, ETA {eta}"

    def reset(self, stream: str) -> None:
        """LOG_BASED: the bookmarks could not be continued (stream aged out or replaced); re-replicating."""
        entry = self._entry(stream)
        entry.origin = STREAM_RESET
        self._phase(entry, SCAN, entry.item_count)
        entry.resumed_scan = False

    def shard(self, stream: str) -> None:
        """LOG_BASED: one shard has been read (to its end or up to now)."""
        self._entry(stream).shards += 1

    def changes_page(self, stream: str, records: list[dict[str, Any]]) -> None:
        """LOG_BASED: a GetRecords page of wire-form stream records, before they are written
        (writing may empty the list); only its first and last records are looked at."""
        if not records:
            return
        entry = self._entry(stream)
        first, last = change_time(records[0]), change_time(records[-1])
        if first is not None and (entry.oldest_change is None or first < entry.oldest_change):
            entry.oldest_change = first
        if last is not None and (entry.newest_change is None or last > entry.newest_change):
            entry.newest_change = last

    def lag(self, stream: str, warning_hours: float) -> StreamReport:
        """LOG_BASED: the stream's changes are read: work out lag and margin, emit their metric
        points, and warn when the margin is under `warning_hours`."""
        entry = self._entry(stream)
        now = self.wall_clock()
        entry.lag = None if entry.newest_change is None else max(0.0, now - entry.newest_change)
        at_risk = 0.0 if entry.oldest_change is None else max(0.0, entry.wall_started - entry.oldest_change)
        entry.margin = RETENTION_SECONDS - at_risk
        if entry.lag is not None:
            metrics.change_lag(entry.stream, entry.lag)
        metrics.retention_margin(entry.stream, entry.margin)
        if warning_hours > 0 and entry.margin < warning_hours * 3600:
            LOGGER.warning(
                "Stream %s: only %.1f hours of margin left: its oldest unread change was %.1f hours old when the run "
                "started, and the DynamoDB stream keeps changes 24 hours (stream_lag_warning_hours: %g). Run the sync "
                "more often, or changes will be trimmed before they are read and the table replicated again",
                entry.stream,
                entry.margin / 3600,
                at_risk / 3600,
                warning_hours,
            )
        return entry

    def export_started(self, stream: str, export_arn: str, origin: str, wait_seconds: float, files: int) -> None:
        """A full read from an export begins (after waiting `wait_seconds` for it)."""
        entry = self._entry(stream)
        entry.export = ExportReport(export_arn, origin, wait_seconds, files)
        metrics.export_wait(stream, export_arn, origin, wait_seconds)

    def export_file(self, stream: str, file_bytes: int) -> None:
        """One data file of the stream's export has been read to its end."""
        export = self._entry(stream).export
        if export is not None:
            export.files_read += 1
            export.bytes_read += file_bytes

    def export_finished(self, stream: str) -> None:
        """The export read ends: its counters as metric points, and one line in the log."""
        entry = self._entry(stream)
        if entry.export is not None:
            metrics.export_read(stream, entry.export.export_arn, entry.export.files_read, entry.export.bytes_read,
                                entry.export.items)
            LOGGER.info("Read %s", entry.export.line(stream))

    def export_records(self, stream: str, records: int) -> None:
        """A chunk of `records` records from the stream's export has been written (called per chunk)."""
        entry = self._entry(stream)
        if entry.export is not None:
            entry.export.items += records
        self.page(stream, records)

    def ttl_deletes_skipped(self, stream: str, count: int) -> None:
        """LOG_BASED: `count` TTL deletes were left out (ttl_deletes: skip)."""
        self._entry(stream).ttl_deletes_skipped += count

    def finish(self, stream: str, records: Optional[int] = None) -> StreamReport:
        """The stream is done; `records` (the sync's own count) covers readers that report no pages."""
        entry = self._entry(stream)
        if records is not None and records > entry.records:
            entry.unreported += records - entry.records
            entry.records = records
        entry.finished = self.clock()
        self._record_count(entry, entry.finished)
        return entry

    def _record_count(self, entry: StreamReport, now: float) -> None:
        metrics.record_count(entry.stream, entry.unreported)
        entry.unreported = 0
        entry.last_point = now

    def summary_lines(self) -> list[str]:
        """The sync report: a header and one aligned line per stream."""
        if not self.streams:
            return []
        now = self.clock()
        rows = [
            (
                "stream",
                "method",
                "records",
                "pages",
                "shards",
                "ttl-skipped",
                "seconds",
                "records/s",
                "lag",
                "margin",
                "started",
            )
        ]
        for e in self.streams.values():
            status = e.origin if e.finished is not None else f"{e.origin}; did not finish"
            log_based = e.method == "LOG_BASED"
            rows.append(
                (
                    e.stream,
                    e.method,
                    str(e.records),
                    str(e.pages),
                    str(e.shards) if log_based else "-",
                    str(e.ttl_deletes_skipped) if log_based else "-",
                    f"{e.seconds(now):.1f}",
                    f"{e.rate(now):.0f}",
                    format_duration(e.lag) if e.lag is not None else "-",
                    format_duration(e.margin) if e.margin is not None else "-",
                    status,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
        lines.extend(e.export.line(e.stream) for e in self.streams.values() if e.export is not None)
        return lines

    def log_summary(self) -> None:
        lines = self.summary_lines()
        if lines:
            LOGGER.info("Sync report:")
            for line in lines:
                LOGGER.info("  %s", line)
