"""Progress while a sync runs and a short report when it ends, on stderr.

Progress is Singer `record_count` counter points (metrics.py), which Meltano and other
runners parse; request timers come from the AWS clients (aws/timers.py).

Costs are per page, never per item: the replication code calls `Report.page()` once per
Scan page or GetRecords answer, so the hot loop over items is untouched.

At the end, `Report.log_summary()` prints one line per stream: method, records,
pages/shards, seconds, records/s and where it started (first run, resumed from a
bookmark, reset...). It replaces Stitch's "loading report" for people running by hand.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .. import metrics
from ..replication.bookmarks import Bookmark

LOGGER = logging.getLogger("tap_dynamodb")

RECORD_COUNT_INTERVAL = 5.0  # seconds between record_count points of a stream that is still running

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
        self.streams: Dict[str, StreamReport] = {}

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
        metrics.record_count(entry.stream, entry.unreported)
        entry.unreported = 0
        entry.last_point = now

    def summary_lines(self) -> List[str]:
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
