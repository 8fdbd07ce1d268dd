"""Bookmarks as typed data, and the round trip to the state dict Stitch's tap-dynamodb writes.

    {"currently_syncing": "orders",
     "bookmarks": {"orders": {"version": 1700000000000,
                              "last_evaluated_key": {"id": {"S": "a"}},
                              "initial_full_table_complete": true,
                              "last_replication_method": "FULL_TABLE",
                              "success_timestamp": "2026-11-26T20:00:00.000000Z",
                              "shard_seq_numbers": {...}, "finished_shards": [...]}}}

This module is the only one that knows those keys. A state file is checked here: its outer
shape when it is loaded, and a stream's bookmark field by field when the stream's bookmark is
first asked for (sync asks for every selected stream's before it reads anything), each
problem as one line naming the field. Replication code reads and changes `Bookmark` objects;
`State.to_dict` writes them back in Stitch's shape, with any key this tap does not know
kept as it came. Keys are stored in DynamoDB's wire form (binary as base64 text).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from ..aws.wire import key_for_botocore
from ..errors import TapError
from ..page import WireItem

JsonDict = dict[str, Any]

# Stitch's keys (and ours: scan_segments, segment_keys, finished_segments, stream_arn, batch_parts).
VERSION = "version"
INITIAL_COMPLETE = "initial_full_table_complete"
METHOD = "last_replication_method"
SUCCESS = "success_timestamp"
LAST_KEY = "last_evaluated_key"
SEGMENTS = "scan_segments"
SEGMENT_KEYS = "segment_keys"
FINISHED_SEGMENTS = "finished_segments"
STREAM_ARN = "stream_arn"
SHARD_POSITIONS = "shard_seq_numbers"
FINISHED_SHARDS = "finished_shards"
BATCH_PARTS = "batch_parts"
EXPORT = "export"  # ExportProgress, an object
LAST_EXPORT_TIME = "last_export_time"
EXPORT_ARN = "export_arn"
EXPORT_TIME = "export_time"
EXPORT_FILES_DONE = "files_done"
EXPORT_FILE_LINES = "file_lines"
EXPORT_FILE_PARTS = "file_parts"
# Incremental exports (ExportWindows): INCREMENTAL's windows and LOG_BASED's catch-ups
EXPORTED_UNTIL = "exported_until"
EXPORT_WINDOW_TO = "export_window_to"
CATCH_UP_UNTIL = "catch_up_until"
STREAM_READ_UNTIL = "stream_read_until"
_WINDOW_KEYS = (EXPORTED_UNTIL, EXPORT_WINDOW_TO, CATCH_UP_UNTIL, STREAM_READ_UNTIL)
_KNOWN = (
    EXPORT,
    LAST_EXPORT_TIME,
    VERSION,
    INITIAL_COMPLETE,
    METHOD,
    SUCCESS,
    LAST_KEY,
    SEGMENTS,
    SEGMENT_KEYS,
    FINISHED_SEGMENTS,
    STREAM_ARN,
    SHARD_POSITIONS,
    FINISHED_SHARDS,
    *_WINDOW_KEYS,
    BATCH_PARTS,
)


class BadBookmark(ValueError):
    """A bookmark field that is not what this tap (or Stitch's) writes; the message names it."""


def _scan_key(value: Any) -> WireItem:
    try:
        if not isinstance(value, dict) or not value:
            raise ValueError("not an object")
        key_for_botocore(value)
    except ValueError:
        raise BadBookmark(f"the state's scan bookmark {value!r} is not a DynamoDB key") from None
    return value


def _present(*fields: tuple[str, Any]) -> JsonDict:
    """The state keys of the fields that are set (a field left None is not written, as in Stitch's state)."""
    return {key: value for key, value in fields if value is not None}


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _batch_parts(value: Any) -> Optional[dict[str, int]]:
    if value is None:
        return None
    if not (
        isinstance(value, dict)
        and all(isinstance(k, str) and k.isdigit() and _whole_number(n) and n >= 0 for k, n in value.items())
    ):
        raise BadBookmark(f"state bookmark {BATCH_PARTS} must map segment numbers to counts of batch files")
    return dict(value)


@dataclass
class ScanProgress:
    """Where an unfinished Scan continues.

    One segment: `last_key` (Stitch's last_evaluated_key). Several: `segments` (fixed until
    the scan ends), the last key of each unfinished segment and the finished segments. Empty
    when no scan is in progress.

    With batch_config, `batch_parts` counts the batch files announced (BATCH messages written)
    per segment: the keys above then cover exactly those files' records, and a resumed scan
    numbers its next file from here, so an announced file is never overwritten with other
    records (docs/batch.md).
    """

    last_key: Optional[WireItem] = None
    segments: Optional[int] = None
    segment_keys: Optional[dict[str, WireItem]] = None  # by segment number as text, as the state stores it
    finished_segments: Optional[list[int]] = None
    batch_parts: Optional[dict[str, int]] = None  # segment number as text → batch files announced

    def parts_announced(self, segment: int) -> int:
        """How many batch files of `segment` this scan has announced."""
        return (self.batch_parts or {}).get(str(segment), 0)

    def part_announced(self, segment: int) -> None:
        parts = self.batch_parts = self.batch_parts if self.batch_parts is not None else {}
        parts[str(segment)] = parts.get(str(segment), 0) + 1

    @property
    def in_progress(self) -> bool:
        return self.last_key is not None or self.segments is not None

    def start_keys(self) -> dict[int, Optional[WireItem]]:
        """{segment: key to continue after, None from its start} of every unfinished segment."""
        if self.segments is None:
            return {0: self.last_key} if self.last_key is not None else {}
        keys = self.segment_keys or {}
        finished = set(self.finished_segments or ())
        return {s: keys.get(str(s)) for s in range(self.segments) if s not in finished}

    def page_done(self, segments: int, segment: int, last_key: Optional[WireItem]) -> bool:
        """A page of `segment` is written; False when nothing moved (the end of a one-segment scan)."""
        if segments == 1:
            if not last_key:
                return False
            self.last_key = last_key
            return True
        self.segments = segments
        keys = self.segment_keys = self.segment_keys if self.segment_keys is not None else {}
        if last_key:
            keys[str(segment)] = last_key
        else:
            keys.pop(str(segment), None)
            finished = self.finished_segments = self.finished_segments if self.finished_segments is not None else []
            if segment not in finished:
                finished.append(segment)
        return True

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ScanProgress:
        parts = _batch_parts(raw.get(BATCH_PARTS))
        segments = raw.get(SEGMENTS)
        if segments is None:
            last = raw.get(LAST_KEY)
            return cls(last_key=_scan_key(last) if last is not None else None, batch_parts=parts)
        keys = raw.get(SEGMENT_KEYS)
        finished = raw.get(FINISHED_SEGMENTS)
        if not _whole_number(segments) or segments < 1:
            raise BadBookmark(f"state bookmark {SEGMENTS} must be a positive whole number")
        if keys is not None and not isinstance(keys, dict):
            raise BadBookmark(f"state bookmark {SEGMENT_KEYS} must be an object of segment → key")
        if finished is not None and not (
            isinstance(finished, list) and all(_whole_number(s) and 0 <= s < segments for s in finished)
        ):
            raise BadBookmark(f"state bookmark {FINISHED_SEGMENTS} must be a list of segments 0..{segments - 1}")
        checked = {segment: _scan_key(key) for segment, key in (keys or {}).items() if key is not None}
        if parts and any(int(segment) >= segments for segment in parts):
            raise BadBookmark(f"state bookmark {BATCH_PARTS} names a segment beyond {SEGMENTS} {segments}")
        return cls(
            None,
            segments,
            checked if keys is not None else None,
            list(finished) if finished is not None else None,
            parts,
        )

    def to_dict(self) -> JsonDict:
        return _present(
            (LAST_KEY, self.last_key),
            (SEGMENTS, self.segments),
            (SEGMENT_KEYS, self.segment_keys),
            (FINISHED_SEGMENTS, self.finished_segments),
            (BATCH_PARTS, self.batch_parts),
        )


@dataclass
class ShardBookmarks:
    """How far the table's DynamoDB stream has been read (LOG_BASED).

    `positions`: shard id → the last sequence number emitted (None: from the shard's start), for
    shards not yet read to their end; `finished`: shards read to their end.
    """

    stream_arn: Optional[str] = None
    positions: Optional[dict[str, Optional[str]]] = None
    finished: Optional[list[str]] = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ShardBookmarks:
        positions = raw.get(SHARD_POSITIONS)
        finished = raw.get(FINISHED_SHARDS)
        arn = raw.get(STREAM_ARN)
        if positions is not None and not (
            isinstance(positions, dict)
            and all(
                isinstance(shard, str) and (seq is None or (isinstance(seq, str) and seq.isdigit()))
                for shard, seq in positions.items()
            )
        ):
            raise BadBookmark(
                f"state bookmark {SHARD_POSITIONS} must map shard ids to sequence numbers (digit strings)"
            )
        if finished is not None and not (isinstance(finished, list) and all(isinstance(s, str) for s in finished)):
            raise BadBookmark(f"state bookmark {FINISHED_SHARDS} must be a list of shard ids")
        if arn is not None and not isinstance(arn, str):
            raise BadBookmark(f"state bookmark {STREAM_ARN} must be a stream ARN")
        return cls(
            arn, dict(positions) if positions is not None else None, list(finished) if finished is not None else None
        )

    def to_dict(self) -> JsonDict:
        return _present(
            (STREAM_ARN, self.stream_arn), (SHARD_POSITIONS, self.positions), (FINISHED_SHARDS, self.finished)
        )


_EXPORT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _export_time(value: Any, name: str) -> Optional[str]:
    if value is None:
        return None
    try:
        dt.datetime.strptime(value, _EXPORT_TIME_FORMAT)
    except (TypeError, ValueError):
        raise BadBookmark(
            f"state bookmark {name} {value!r} is not a UTC time like 2026-12-01T10:00:00.000000Z"
        ) from None
    return str(value)


def utc_text(moment: dt.datetime) -> str:
    """A moment as the time bookmarks keep it (UTC, microseconds, Z; timestamps.iso_utc's format)."""
    return moment.astimezone(dt.timezone.utc).strftime(_EXPORT_TIME_FORMAT)


def utc_moment(text: str) -> dt.datetime:
    """A time bookmark's text as an aware UTC datetime."""
    return dt.datetime.strptime(text, _EXPORT_TIME_FORMAT).replace(tzinfo=dt.timezone.utc)


@dataclass
class ExportProgress:
    """How far a full read from a DynamoDB export has come (full_table_source export).

    `export_time` is set first (AWS's time the export is requested for, so that a run killed
    before it learns the ARN requests the same export again: the same ClientToken), then
    `export_arn`. `files_done`: indexes (positions in manifest-files.json) of the data files
    whose records are all written; `file_lines`: file index as text → lines of that file
    written so far, for files in progress. Empty when no export read is in progress.

    With batch_config, `file_parts`: file index as text → batch files (parts) of that file
    announced so far, for files in progress. `file_lines` then moves only when a part is
    announced, so it is the line where the file's next part starts; a resumed run numbers that
    part from here, writing the part a killed run was writing under the same name, and removes
    every part beyond these counts as never announced (docs/batch.md).
    """

    export_arn: Optional[str] = None
    export_time: Optional[str] = None
    files_done: Optional[list[int]] = None
    file_lines: Optional[dict[str, int]] = None
    file_parts: Optional[dict[str, int]] = None

    @property
    def in_progress(self) -> bool:
        return self.export_arn is not None or self.export_time is not None

    def lines_done(self, index: int) -> int:
        """Lines of file `index` already written (0 when none)."""
        return (self.file_lines or {}).get(str(index), 0)

    def is_done(self, index: int) -> bool:
        return index in (self.files_done or ())

    def parts_announced(self, index: int) -> int:
        """Batch files of file `index` announced so far (0 when none, or when the file is done)."""
        return (self.file_parts or {}).get(str(index), 0)

    def chunk_written(self, index: int, line: int, file_done: bool, parts: int = 0) -> None:
        """The records of file `index` up to `line` are written (`parts` more of its batch files
        announced); `file_done` when that was its last line."""
        lines = self.file_lines = self.file_lines if self.file_lines is not None else {}
        if file_done:
            lines.pop(str(index), None)
            if self.file_parts is not None:
                self.file_parts.pop(str(index), None)
                if not self.file_parts:
                    self.file_parts = None
            done = self.files_done = self.files_done if self.files_done is not None else []
            if index not in done:
                done.append(index)
        else:
            lines[str(index)] = line
            if parts:
                counts = self.file_parts = self.file_parts if self.file_parts is not None else {}
                counts[str(index)] = counts.get(str(index), 0) + parts

    @classmethod
    def from_dict(cls, raw: Any) -> ExportProgress:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise BadBookmark(f"state bookmark {EXPORT} must be an object")
        arn = raw.get(EXPORT_ARN)
        if arn is not None and not (isinstance(arn, str) and "/export/" in arn):
            raise BadBookmark(f"state bookmark {EXPORT}.{EXPORT_ARN} {arn!r} is not an export ARN")
        done = raw.get(EXPORT_FILES_DONE)
        if done is not None and not (isinstance(done, list) and all(_whole_number(i) and i >= 0 for i in done)):
            raise BadBookmark(f"state bookmark {EXPORT}.{EXPORT_FILES_DONE} must be a list of data file indexes")
        lines = raw.get(EXPORT_FILE_LINES)
        if lines is not None and not (
            isinstance(lines, dict)
            and all(isinstance(k, str) and k.isdigit() and _whole_number(v) and v >= 0 for k, v in lines.items())
        ):
            raise BadBookmark(
                f"state bookmark {EXPORT}.{EXPORT_FILE_LINES} must map data file indexes to lines written"
            )
        parts = raw.get(EXPORT_FILE_PARTS)
        if parts is not None and not (
            isinstance(parts, dict)
            and all(isinstance(k, str) and k.isdigit() and _whole_number(v) and v >= 0 for k, v in parts.items())
        ):
            raise BadBookmark(
                f"state bookmark {EXPORT}.{EXPORT_FILE_PARTS} must map data file indexes to batch files announced"
            )
        # A part holds at least one line, so a file with parts announced has lines written, and a
        # file done has no count of its own (every part of it was announced).
        if parts and any(v and (k not in (lines or {}) or int(k) in (done or ())) for k, v in parts.items()):
            raise BadBookmark(
                f"state bookmark {EXPORT}.{EXPORT_FILE_PARTS} names a data file that is not in "
                f"{EXPORT}.{EXPORT_FILE_LINES} (a file in progress)"
            )
        if arn is None and (done or lines or parts):
            raise BadBookmark(f"state bookmark {EXPORT} has file progress but no {EXPORT_ARN}")
        return cls(
            arn,
            _export_time(raw.get(EXPORT_TIME), f"{EXPORT}.{EXPORT_TIME}"),
            list(done) if done is not None else None,
            dict(lines) if lines is not None else None,
            dict(parts) if parts is not None else None,
        )

    def to_dict(self) -> Optional[JsonDict]:
        if not self.in_progress:
            return None
        return _present(
            (EXPORT_ARN, self.export_arn),
            (EXPORT_TIME, self.export_time),
            (EXPORT_FILES_DONE, self.files_done),
            (EXPORT_FILE_LINES, self.file_lines),
            (EXPORT_FILE_PARTS, self.file_parts),
        )


@dataclass
class ExportWindows:
    """How far incremental exports have brought a stream (replication/incremental.py, catch_up.py).

    Times are AWS's (from DescribeContinuousBackups), as UTC text.
    - `exported_until`: every change before it has been written (INCREMENTAL: the end of the last
      window read; LOG_BASED: how far a catch-up has come).
    - `window_to`: the end of the window being read, fixed before its export is requested, so a
      resumed run asks for the same window (the same ClientToken: no second export).
    - `catch_up_until`: LOG_BASED, while a catch-up runs: the time of the stream position noted
      anew; the stream is read from that position once exports reach this time.
    - `stream_read_until`: LOG_BASED: every change before it has been written (read at the start of
      the last complete read of the stream, or the initial load's); where a catch-up starts.
    """

    exported_until: Optional[str] = None
    window_to: Optional[str] = None
    catch_up_until: Optional[str] = None
    stream_read_until: Optional[str] = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ExportWindows:
        windows = cls(*(_export_time(raw.get(key), key) for key in _WINDOW_KEYS))
        if windows.window_to is not None and windows.exported_until is None:
            raise BadBookmark(f"state bookmark {EXPORT_WINDOW_TO} needs {EXPORTED_UNTIL}, where its window starts")
        if windows.catch_up_until is not None and windows.exported_until is None:
            raise BadBookmark(f"state bookmark {CATCH_UP_UNTIL} needs {EXPORTED_UNTIL}, where the catch-up stands")
        return windows

    def to_dict(self) -> JsonDict:
        return _present(
            (EXPORTED_UNTIL, self.exported_until),
            (EXPORT_WINDOW_TO, self.window_to),
            (CATCH_UP_UNTIL, self.catch_up_until),
            (STREAM_READ_UNTIL, self.stream_read_until),
        )


@dataclass
class Bookmark:
    """Everything the state says about one stream."""

    version: Optional[int] = None  # Stitch's table version: RECORDs and ACTIVATE_VERSION carry it
    initial_full_table_complete: Optional[bool] = None
    last_replication_method: Optional[str] = None
    success_timestamp: Optional[str] = None
    scan: ScanProgress = field(default_factory=ScanProgress)
    shards: ShardBookmarks = field(default_factory=ShardBookmarks)
    export: ExportProgress = field(default_factory=ExportProgress)
    # The ExportTime of the last export read completely (LOG_BASED: where a bridge by incremental export starts).
    last_export_time: Optional[str] = None
    windows: ExportWindows = field(default_factory=ExportWindows)
    extra: JsonDict = field(default_factory=dict)  # keys this tap does not know, kept as they came

    def is_empty(self) -> bool:
        """Nothing but (at most) the replication method: the stream has never been synced."""
        return not {k: v for k, v in self.to_dict().items() if k != METHOD and v is not None}

    def last_success(self) -> Optional[dt.datetime]:
        """When the stream's last sync finished (success_timestamp), None if unknown or unreadable."""
        from dateutil.parser import isoparse  # here, not at import: dateutil costs start-up time every run

        try:
            return isoparse(self.success_timestamp) if self.success_timestamp else None
        except (ValueError, OverflowError):
            return None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Bookmark:
        version = raw.get(VERSION)
        if version is not None and (not _whole_number(version) or version < 0):
            raise BadBookmark(f"state bookmark version {version!r} is not a table version (a whole number)")
        return cls(
            version=version,
            initial_full_table_complete=raw.get(INITIAL_COMPLETE),
            last_replication_method=raw.get(METHOD),
            success_timestamp=raw.get(SUCCESS),
            scan=ScanProgress.from_dict(raw),
            shards=ShardBookmarks.from_dict(raw),
            export=ExportProgress.from_dict(raw.get(EXPORT)),
            last_export_time=_export_time(raw.get(LAST_EXPORT_TIME), LAST_EXPORT_TIME),
            windows=ExportWindows.from_dict(raw),
            extra={k: copy.deepcopy(v) for k, v in raw.items() if k not in _KNOWN},
        )

    def to_dict(self) -> JsonDict:
        out: JsonDict = dict(self.extra)
        out.update(
            _present(
                (VERSION, self.version),
                (INITIAL_COMPLETE, self.initial_full_table_complete),
                (METHOD, self.last_replication_method),
                (SUCCESS, self.success_timestamp),
                (EXPORT, self.export.to_dict()),
                (LAST_EXPORT_TIME, self.last_export_time),
            )
        )
        out.update(self.scan.to_dict())
        out.update(self.shards.to_dict())
        out.update(self.windows.to_dict())
        return out


class State:
    """The run's state: `currently_syncing` and a Bookmark per stream id, read and written as Stitch's dict."""

    def __init__(
        self,
        raw_bookmarks: Optional[dict[str, JsonDict]] = None,
        currently_syncing: Optional[str] = None,
        extra: Optional[JsonDict] = None,
    ):
        self._raw = raw_bookmarks or {}  # bookmarks not asked for yet, as loaded
        self._bookmarks: dict[str, Bookmark] = {}
        self.currently_syncing = currently_syncing
        self._extra = extra or {}

    @classmethod
    def load(cls, raw: Any) -> State:
        """Check the outer shape of a loaded state (None: start fresh)."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise TapError(
                'state must be a JSON object like {"bookmarks": {...}}; pass an empty file\'s '
                "worth of {} to start fresh"
            )
        # Singer runners sometimes hand over the whole STATE message rather than its value.
        if raw.get("type") == "STATE" and isinstance(raw.get("value"), dict):
            raw = raw["value"]
        raw = copy.deepcopy(raw)
        bookmarks = raw.pop("bookmarks", {})
        if not isinstance(bookmarks, dict):
            raise TapError("state key bookmarks must be an object of table name → bookmark")
        for stream_id, bookmark in bookmarks.items():
            if not isinstance(bookmark, dict):
                raise TapError(
                    f"state bookmark for table {stream_id!r} must be an object; remove it to re-sync the table"
                )
        current = raw.pop("currently_syncing", None)
        if current is not None and not isinstance(current, str):
            raise TapError("state key currently_syncing must be a stream name or null")
        return cls(bookmarks, current, raw)

    def bookmark(self, stream_id: str) -> Bookmark:
        """The stream's bookmark (empty when the state has none); TapError when it is malformed."""
        bookmark = self._bookmarks.get(stream_id)
        if bookmark is None:
            try:
                bookmark = Bookmark.from_dict(self._raw.pop(stream_id, {}))
            except BadBookmark as exc:
                raise TapError(
                    f"stream {stream_id}: {exc}; remove bookmarks.{stream_id} from the state to re-sync the table"
                ) from None
            self._bookmarks[stream_id] = bookmark
        return bookmark

    def raw_method(self, stream_id: str) -> Optional[str]:
        """The replication method the state last recorded for a stream, without checking its bookmark."""
        if stream_id in self._bookmarks:
            return self._bookmarks[stream_id].last_replication_method
        method = self._raw.get(stream_id, {}).get(METHOD)
        return method if isinstance(method, str) else None

    def reset(self, stream_id: str, keep_version: bool = False) -> Bookmark:
        """Table-level reset: forget the stream's bookmark (keeping its version and method when asked)."""
        old = self._bookmarks.pop(stream_id, None)
        self._raw.pop(stream_id, None)
        fresh = self._bookmarks[stream_id] = Bookmark()
        if keep_version and old is not None:
            fresh.version, fresh.last_replication_method = old.version, old.last_replication_method
        return fresh

    def to_dict(self) -> JsonDict:
        """The state as Stitch's tap writes it."""
        bookmarks: dict[str, JsonDict] = dict(self._raw)
        for stream_id, bookmark in self._bookmarks.items():
            written = bookmark.to_dict()
            if written:  # a stream that was only looked at (or reset) has no bookmark, as in Stitch's state
                bookmarks[stream_id] = written
            else:
                bookmarks.pop(stream_id, None)
        return {**self._extra, "bookmarks": bookmarks, "currently_syncing": self.currently_syncing}
