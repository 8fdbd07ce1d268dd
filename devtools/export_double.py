"""A TEST DOUBLE of DynamoDB's export control plane, in front of DynamoDB Local.

DynamoDB Local has no export API (it answers UnknownOperationException to ExportTableToPointInTime,
DescribeExport, ListExports, DescribeContinuousBackups and UpdateContinuousBackups), and moto's export
is not AWS's layout. The tap's export paths need both a faithful control plane and the files AWS
writes, so this double is an HTTP server on 127.0.0.1 that is the ``endpoint_url`` the tap is given:

- every other DynamoDB and DynamoDB Streams request is forwarded, headers and body unchanged, to
  DynamoDB Local (which ignores signatures, so nothing is re-signed);
- writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) are journaled with the
  double's clock, the key and the old and new images (read with a consistent GetItem before and after
  the write, under one lock), because a point-in-time export and an incremental export are functions
  of the table's history, which DynamoDB Local does not keep;
- the five control-plane operations are answered here, with AWS's JSON 1.0 shapes and documented
  errors, and exports are written in AWS's layout into a real S3 server (devtools/s3_server.py).

A full export at ExportTime T is "the table scanned now, with every journaled write at or after T
undone"; an incremental export of [from, to) is, per key, the net change of the journaled writes in
the window (one line per key, compacted as AWS does). Writes that bypass the double (a bulk load
straight into DynamoDB Local) have no history: such items count as present since forever.

The double's clock is real UTC time plus an offset the tests move with :meth:`ExportDouble.advance_clock`
(PITR windows, the 15-minute minimum of incremental windows and the 24-hour stream retention are thus
tested without waiting). Moving the clock past the stream retention trims DynamoDB Local's streams as
AWS would: GetShardIterator at a trimmed sequence number answers TrimmedDataAccessException.

docs/export-double.md says which AWS facts it reproduces and where real AWS may differ.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import os
import queue
import secrets
import threading
import time
import urllib.parse
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

import orjson

DDB_PREFIX = "DynamoDB_20120810."
STREAMS_PREFIX = "DynamoDBStreams_20120810."
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
VALIDATION = "com.amazon.coral.validate#ValidationException"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"

CONTROL_PLANE = (
    "ExportTableToPointInTime",
    "DescribeExport",
    "ListExports",
    "DescribeContinuousBackups",
    "UpdateContinuousBackups",
)
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")

#: AWS keeps point-in-time recovery data for (at most) 35 days.
PITR_DAYS = 35
MIN_INCREMENTAL = timedelta(minutes=15)
MAX_INCREMENTAL = timedelta(hours=24)
LIST_EXPORTS_MAX = 25
#: Headers not copied from one HTTP hop to the next (hop-by-hop, or recomputed here).
_HOP_HEADERS = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "date"}


class DoubleError(Exception):
    """An AWS error answer: HTTP 400 with ``{"__type": ..., "message": ...}``."""

    def __init__(self, code: str, message: str, type_prefix: str = ERROR_PREFIX):
        super().__init__(message)
        self.type = code if "#" in code else type_prefix + code
        self.message = message


def _validation(message: str) -> DoubleError:
    return DoubleError(VALIDATION, message)


# --------------------------------------------------------------------------
# Records kept by the double
# --------------------------------------------------------------------------


@dataclass
class Write:
    """One journaled write: when (double clock, µs), which key, the item before and after (None = absent)."""

    micros: int
    key: dict[str, Any]
    key_id: bytes
    old: Optional[dict[str, Any]]
    new: Optional[dict[str, Any]]
    real: float = 0.0  # the machine's time of the write (DynamoDB Local's stream times are on it)


@dataclass
class Export:
    """One export as the control plane knows it; ``description()`` is DescribeExport's answer."""

    arn: str
    export_id: str
    table_arn: str
    table_name: str
    table_id: str
    params: dict[str, Any]
    client_token: str
    export_type: str
    export_format: str
    export_time: Optional[float]
    from_time: Optional[float]
    to_time: Optional[float]
    view_type: Optional[str]
    start_time: float
    bucket: str
    prefix: str
    status: str = "IN_PROGRESS"
    end_time: Optional[float] = None
    item_count: int = 0
    billed_bytes: int = 0
    failure: Optional[tuple[str, str]] = None
    polls: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    data_keys: list[str] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return f"{self.prefix}/AWSDynamoDB/{self.export_id}" if self.prefix else f"AWSDynamoDB/{self.export_id}"

    @property
    def manifest_key(self) -> str:
        return f"{self.folder}/manifest-summary.json"

    def description(self, shown_status: str) -> dict[str, Any]:
        desc: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": shown_status,
            "StartTime": self.start_time,
            "TableArn": self.table_arn,
            "TableId": self.table_id,
            "ClientToken": self.client_token,
            "S3Bucket": self.bucket,
            "ExportFormat": self.export_format,
            "ExportType": self.export_type,
        }
        for name in ("S3BucketOwner", "S3SseAlgorithm", "S3SseKmsKeyId"):
            if self.params.get(name):
                desc[name] = self.params[name]
        if self.params.get("S3Prefix"):
            desc["S3Prefix"] = self.params["S3Prefix"]
        if self.export_time is not None:
            desc["ExportTime"] = self.export_time
        if self.export_type == "INCREMENTAL_EXPORT":
            desc["IncrementalExportSpecification"] = {
                "ExportFromTime": self.from_time,
                "ExportToTime": self.to_time,
                "ExportViewType": self.view_type,
            }
        if shown_status == "COMPLETED":
            desc.update(
                EndTime=self.end_time,
                ExportManifest=self.manifest_key,
                ItemCount=self.item_count,
                BilledSizeBytes=self.billed_bytes,
            )
        elif shown_status == "FAILED":
            assert self.failure is not None
            desc.update(EndTime=self.end_time, FailureCode=self.failure[0], FailureMessage=self.failure[1])
        return desc


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _iso(seconds: float) -> str:
    """AWS's manifest time format: ISO 8601 UTC with milliseconds and a Z."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _seconds(value: Any, name: str) -> float:
    """A timestamp of a JSON 1.0 request: epoch seconds (what botocore sends), or an ISO 8601 string."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _validation(f"{name}: cannot parse timestamp {value!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    raise _validation(f"{name}: expected a timestamp, got {value!r}")


def _micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _data_file_name() -> str:
    """AWS's data files are named by 26 lower-case base32 characters (128 random bits)."""
    return base64.b32encode(os.urandom(16)).decode("ascii").rstrip("=").lower()


def _key_id(key: dict[str, Any]) -> bytes:
    return orjson.dumps(key, option=orjson.OPT_SORT_KEYS)


def _ion_value(typed: dict[str, Any]) -> Any:
    """One wire-form DynamoDB value as AWS's ION export writes it (sets annotated $dynamodb_XS)."""
    from amazon.ion.core import IonType
    from amazon.ion.simple_types import IonPyList

    (kind, value), *_ = typed.items()
    if kind == "S":
        return value
    if kind == "N":
        return Decimal(value)
    if kind == "B":
        return base64.b64decode(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {name: _ion_value(inner) for name, inner in value.items()}
    if kind == "L":
        return [_ion_value(inner) for inner in value]
    convert: Callable[[Any], Any] = {
        "SS": str,
        "NS": Decimal,
        "BS": base64.b64decode,
    }[kind]
    return IonPyList.from_value(IonType.LIST, [convert(v) for v in value], annotations=(f"$dynamodb_{kind}",))


def _ion_line(line: dict[str, Any]) -> bytes:
    from amazon.ion import simpleion

    converted: dict[str, Any] = {}
    for part, image in line.items():
        if part == "Metadata":
            converted[part] = {"WriteTimestampMicros": int(image["WriteTimestampMicros"]["N"])}
        else:
            converted[part] = {name: _ion_value(value) for name, value in image.items()}
    return simpleion.dumps(converted, binary=False).encode("utf-8") + b"\n"


def _ion_available() -> bool:
    try:
        import amazon.ion.simpleion  # noqa: F401
    except ImportError:
        return False
    return True


class _PartFiles:
    """The data files of one partition of an export: gzip written as items come, a file closed and
    uploaded when it holds ``items_per_file`` items, so memory is one file's compressed bytes."""

    def __init__(self, double: ExportDouble, export: Export, folder: str, extension: str):
        self.double, self.export, self.folder, self.extension = double, export, folder, extension
        self.manifest: list[dict[str, Any]] = []
        self._start()

    def _start(self) -> None:
        self._gz = zlib.compressobj(self.double.gzip_level, zlib.DEFLATED, 31)
        self._chunks: list[bytes] = []
        self._count = 0

    def add(self, line: bytes) -> None:
        self._chunks.append(self._gz.compress(line))
        self._count += 1
        if self._count >= self.double.items_per_file:
            self.close()
            self._start()

    def close(self, final: bool = False) -> None:
        """Upload the current file; at the end only when it holds items or the partition has none yet
        (AWS: at least one file per partition, an empty one for an empty partition)."""
        if final and self._count == 0 and self.manifest:
            return
        self._chunks.append(self._gz.flush())
        body = b"".join(self._chunks)
        key = f"{self.folder}/{_data_file_name()}.{self.extension}.gz"
        etag = self.double._put(self.export.bucket, key, body)
        self.manifest.append(
            {
                "itemCount": self._count,
                "md5Checksum": base64.b64encode(hashlib.md5(body).digest()).decode("ascii"),
                "etag": etag,
                "dataFileS3Key": key,
            }
        )
        self._chunks = []
        self._count = 0


# --------------------------------------------------------------------------
# The double
# --------------------------------------------------------------------------


class ExportDouble:
    """The export control plane in front of DynamoDB Local (see the module docstring).

    ``ExportDouble(dynamodb_endpoint, s3_client_kwargs)`` then ``start()`` (or ``with``); point clients
    at ``endpoint_url``. Settings (attributes, change them any time): ``partitions``,
    ``items_per_file``, ``in_progress_polls`` (DescribeExport calls answered IN_PROGRESS before
    COMPLETED/FAILED), ``retention_seconds`` (streams), ``restorable_lag``
    (LatestRestorableDateTime = now - lag), ``gzip_level``, ``scan_segments`` (parallel Scan of an
    export), ``scan_page_items`` (its page size). Test hooks: ``requests``, ``on_request``, ``now()``,
    ``advance_clock()``, ``enable_pitr()``, ``disable_pitr()``, ``age_out_streams()``,
    ``fail_next_export()``, ``corrupt()``, ``wait()``, ``writes()``, ``export()``.
    """

    def __init__(
        self,
        dynamodb_endpoint: str,
        s3_client_kwargs: dict[str, Any],
        *,
        partitions: int = 4,
        items_per_file: int = 100_000,
        in_progress_polls: int = 1,
        retention_seconds: float = 24 * 3600,
        restorable_lag: float = 0.0,
        gzip_level: int = 6,
        scan_segments: int = 1,
        scan_page_items: int = 1000,
        region: str = "us-east-1",
    ):
        parsed = urllib.parse.urlsplit(dynamodb_endpoint)
        if not parsed.hostname or not parsed.port:
            raise ValueError(f"dynamodb_endpoint must be http://HOST:PORT, got {dynamodb_endpoint!r}")
        self.upstream = (parsed.hostname, parsed.port)
        self.s3_client_kwargs = dict(s3_client_kwargs)
        self.partitions = partitions
        self.items_per_file = items_per_file
        self.in_progress_polls = in_progress_polls
        self.retention_seconds = retention_seconds
        self.restorable_lag = restorable_lag
        self.gzip_level = gzip_level
        self.scan_segments = scan_segments
        self.scan_page_items = scan_page_items
        self.region = region
        #: (operation, params) of every request the double answered itself, in order.
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: Called with (operation, params) before the double answers one of its own operations, in the
        #: server's thread: a test acts at a precise moment (e.g. advance the clock at the first poll).
        self.on_request: Optional[Callable[[str, dict[str, Any]], None]] = None
        self.offset = 0.0
        #: (real time, offset from then on): maps a real time (DynamoDB Local's stream times) to the clock.
        self._offsets: list[tuple[float, float]] = [(0.0, 0.0)]
        self._write_lock = threading.RLock()
        self._state_lock = threading.RLock()
        self._journal: dict[str, list[Write]] = {}
        self._last_micros = 0
        self._pitr: dict[str, float] = {}  # table name -> enabled at (double clock, seconds)
        self._exports: dict[str, Export] = {}
        self._tokens: dict[str, tuple[bytes, str]] = {}  # ClientToken -> (params fingerprint, export arn)
        self._fail_next: Optional[tuple[str, str]] = None
        self._key_schemas: dict[str, list[str]] = {}
        self._trimmed: dict[tuple[str, str], tuple[int, str]] = {}  # (stream arn, shard) -> newest trimmed
        self._marks: list[tuple[float, dict[tuple[str, str], tuple[int, str]]]] = []
        self._iterators: dict[str, tuple[str, str]] = {}
        self._local = threading.local()
        self._s3: Any = None
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._workers: list[threading.Thread] = []

    # -- life cycle -----------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the export double is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    url = endpoint_url

    def start(self) -> ExportDouble:
        import boto3

        self._s3 = boto3.session.Session().client("s3", **self.s3_client_kwargs)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="export-double")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; export workers still running are waited for (briefly) so none writes after."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for worker in self._workers:
            worker.join(timeout=30)

    def __enter__(self) -> ExportDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clock ------------------------------------------------------------------

    def now(self) -> datetime:
        """The double's clock: real UTC time plus ``offset``."""
        return datetime.fromtimestamp(self._now(), tz=timezone.utc)

    def _now(self) -> float:
        return time.time() + self.offset

    def advance_clock(self, seconds: float) -> None:
        """Move the clock forward. Stream records older than ``retention_seconds`` at the new time are
        trimmed (known by the stream tails noted at each advance: conservative, never too much)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._mark_stream_tails()
        with self._state_lock:
            self.offset += seconds
            self._offsets.append((time.time(), self.offset))
            cut = self._now() - self.retention_seconds
            for marked_at, tails in self._marks:
                if marked_at <= cut:
                    self._trim(tails)

    def age_out_streams(self) -> None:
        """Trim every record in every stream so far, whatever the clock (a stream that aged out)."""
        self._trim(self._stream_tails())

    def _offset_at(self, real: float) -> float:
        offset = 0.0
        for since, value in self._offsets:
            if since <= real:
                offset = value
        return offset

    def _record_time(self, stream_arn: str, record: dict[str, Any], created: float) -> float:
        """A stream record's time on the double's clock. DynamoDB Local truncates it to the minute, so
        when the clock moved inside that minute the record's own write, found in the journal, decides
        which offset it was written under; failing that the earlier one is taken (an older change time
        makes a reader re-read a little, a newer one could make it skip changes)."""
        moved = [since for since, _ in self._offsets[1:] if created < since < created + 60]
        if moved and ":table/" in stream_arn:
            table = stream_arn.split(":table/", 1)[1].split("/", 1)[0]
            key = _key_id(record.get("Keys", {}))
            with self._write_lock:
                offsets = {
                    self._offset_at(w.real)
                    for w in self._journal.get(table, ())
                    if w.key_id == key and created <= w.real < created + 60
                }
            if len(offsets) == 1:
                return created + offsets.pop()
        return created + self._offset_at(created)

    def _next_micros(self) -> int:
        micros = max(_micros(self._now()), self._last_micros + 1)
        self._last_micros = micros
        return micros

    # -- PITR ---------------------------------------------------------------------

    def enable_pitr(self, table: str, since: Optional[datetime] = None) -> None:
        """Turn point-in-time recovery on for *table* (by name), from *since* (default: now)."""
        with self._state_lock:
            self._pitr[table] = since.timestamp() if since else self._now()

    def disable_pitr(self, table: str) -> None:
        with self._state_lock:
            self._pitr.pop(table, None)

    def _pitr_window(self, table: str, now: Optional[float] = None) -> Optional[tuple[float, float]]:
        """(EarliestRestorableDateTime, LatestRestorableDateTime) in seconds, or None when PITR is off."""
        enabled = self._pitr.get(table)
        if enabled is None:
            return None
        now = self._now() if now is None else now
        return max(enabled, now - PITR_DAYS * 86400), now - self.restorable_lag

    # -- test hooks ---------------------------------------------------------------

    def fail_next_export(
        self, code: str = "UNKNOWN", message: str = "Export failed (injected by the export double)"
    ) -> None:
        """The next export requested ends FAILED with this FailureCode and FailureMessage."""
        with self._state_lock:
            self._fail_next = (code, message)

    def export(self, export_arn: str) -> Export:
        with self._state_lock:
            try:
                return self._exports[export_arn]
            except KeyError:
                raise KeyError(f"no export {export_arn}") from None

    def wait(self, export_arn: str, timeout: float = 300) -> Export:
        """Block until the export's files are written (COMPLETED or FAILED once polled enough)."""
        export = self.export(export_arn)
        if not export.done.wait(timeout):
            raise TimeoutError(f"export {export_arn} still writing after {timeout}s")
        return export

    def writes(self, table: str) -> list[Write]:
        """The journal of *table*: every write that passed through the double, oldest first."""
        with self._write_lock:
            return list(self._journal.get(table, ()))

    def corrupt(self, export_arn: str, how: str) -> str:
        """Damage a finished export the ways a reader must notice; returns the data file's S3 key.

        *how*: ``count`` (manifest itemCount of the first non-empty file + 1), ``md5`` (its manifest
        md5Checksum wrong), ``truncate`` (the file cut to half its bytes), ``missing`` (file deleted)."""
        export = self.wait(export_arn)
        manifest_key = f"{export.folder}/manifest-files.json"
        lines = [
            orjson.loads(line)
            for line in self._s3.get_object(Bucket=export.bucket, Key=manifest_key)["Body"].read().splitlines()
            if line.strip()
        ]
        victim = next((entry for entry in lines if entry["itemCount"] > 0), lines[0])
        key = victim["dataFileS3Key"]
        if how == "count":
            victim["itemCount"] += 1
        elif how == "md5":
            victim["md5Checksum"] = base64.b64encode(hashlib.md5(b"not the file").digest()).decode("ascii")
        elif how == "truncate":
            body = self._s3.get_object(Bucket=export.bucket, Key=key)["Body"].read()
            self._put(export.bucket, key, body[: len(body) // 2])
        elif how == "missing":
            self._s3.delete_object(Bucket=export.bucket, Key=key)
        else:
            raise ValueError(f"how must be count, md5, truncate or missing, not {how!r}")
        if how in ("count", "md5"):
            self._put_manifest_files(export, lines)
        return str(key)

    # -- HTTP plumbing --------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self.upstream, timeout=120)
            self._local.conn = conn
        return conn

    def _forward(self, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request to DynamoDB Local over this thread's kept-alive connection (reconnect once)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", "/", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _call(self, operation: str, payload: dict[str, Any], prefix: str = DDB_PREFIX) -> dict[str, Any]:
        """An internal call to DynamoDB Local in wire-form JSON; an error answer raises DoubleError."""
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        service = "dynamodb" if prefix == DDB_PREFIX else "streams.dynamodb"
        headers = {
            "Content-Type": JSON_CONTENT_TYPE,
            "X-Amz-Target": prefix + operation,
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=local/{amz_date[:8]}/{self.region}/{service}/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
            ),
        }
        status, _, data = self._forward(headers, orjson.dumps(payload))
        answer = orjson.loads(data) if data else {}
        if status != 200:
            raise DoubleError(str(answer.get("__type", "InternalServerError")), str(answer.get("message", "")))
        return dict(answer)

    def _put(self, bucket: str, key: str, body: bytes) -> str:
        return str(self._s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]).strip('"')

    # -- request dispatch ---------------------------------------------------------

    def handle(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one request: the control plane here, writes journaled, streams trimmed, the rest forwarded."""
        operation = target.rsplit(".", 1)[-1]
        try:
            if target.startswith(DDB_PREFIX) and operation in CONTROL_PLANE:
                params = orjson.loads(body) if body else {}
                with self._state_lock:
                    self.requests.append((operation, params))
                if self.on_request is not None:
                    self.on_request(operation, params)
                answer = getattr(self, f"_op_{operation}")(params)
                return 200, [], orjson.dumps(answer)
            if target.startswith(DDB_PREFIX) and operation in WRITES:
                return self._journaled(operation, headers, body)
            if target.startswith(DDB_PREFIX) and operation in ("CreateTable", "DeleteTable", "UpdateTable"):
                self._key_schemas.clear()
            if target.startswith(STREAMS_PREFIX) and operation == "GetShardIterator":
                return self._get_shard_iterator(headers, body)
            if target.startswith(STREAMS_PREFIX) and operation == "GetRecords":
                return self._get_records(headers, body)
        except DoubleError as exc:
            return 400, [], orjson.dumps({"__type": exc.type, "message": exc.message})
        except (ValueError, KeyError, TypeError) as exc:  # a malformed request (orjson's errors are ValueErrors)
            return 400, [], orjson.dumps({"__type": VALIDATION, "message": f"{operation}: bad request: {exc!r}"})
        return self._forward(headers, body)

    # -- the journal ----------------------------------------------------------------

    def _key_names(self, table: str) -> list[str]:
        names = self._key_schemas.get(table)
        if names is None:
            schema = self._call("DescribeTable", {"TableName": table})["Table"]["KeySchema"]
            names = [k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH")]
            self._key_schemas[table] = names
        return names

    def _get(self, table: str, key: dict[str, Any]) -> Optional[dict[str, Any]]:
        item = self._call("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")
        return dict(item) if item else None

    def _record(self, table: str, key: dict[str, Any], old: Optional[dict[str, Any]]) -> None:
        """Journal the write to *key* whose before-image was *old* (a delete of nothing is no write)."""
        new = self._get(table, key)
        if old is None and new is None:
            return
        names = self._key_names(table)
        image = new or old
        assert image is not None
        canonical = {name: image[name] for name in names}
        entry = Write(self._next_micros(), canonical, _key_id(canonical), old, new, time.time())
        self._journal.setdefault(table, []).append(entry)

    def _journaled(self, operation: str, headers: dict[str, str], body: bytes) -> tuple[int, list[Any], bytes]:
        params = orjson.loads(body)
        with self._write_lock:
            if operation == "BatchWriteItem":
                return self._batch_write(params)
            targets: list[tuple[str, dict[str, Any]]] = []
            if operation == "TransactWriteItems":
                for entry in params.get("TransactItems", []):
                    for kind in ("Put", "Update", "Delete"):
                        if kind in entry:
                            spec = entry[kind]
                            targets.append((spec["TableName"], self._key_of(spec["TableName"], spec)))
            else:
                targets.append((params["TableName"], self._key_of(params["TableName"], params)))
            olds = [self._get(table, key) for table, key in targets]
            status, out_headers, data = self._forward(headers, body)
            if status == 200:
                for (table, key), old in zip(targets, olds):
                    self._record(table, key, old)
            return status, out_headers, data

    def _key_of(self, table: str, spec: dict[str, Any]) -> dict[str, Any]:
        if "Key" in spec:
            return dict(spec["Key"])
        item = spec["Item"]
        try:
            return {name: item[name] for name in self._key_names(table)}
        except KeyError as exc:
            raise _validation(f"One of the required keys was not given a value: {exc}") from None

    def _batch_write(self, params: dict[str, Any]) -> tuple[int, list[Any], bytes]:
        """BatchWriteItem as single writes (each journaled with its images); nothing is left unprocessed."""
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    key = self._key_of(table, {"Item": item})
                    old = self._get(table, key)
                    self._call("PutItem", {"TableName": table, "Item": item})
                else:
                    key = dict(request["DeleteRequest"]["Key"])
                    old = self._get(table, key)
                    self._call("DeleteItem", {"TableName": table, "Key": key})
                self._record(table, key, old)
        return 200, [], orjson.dumps({"UnprocessedItems": {}})

    # -- streams: retention -----------------------------------------------------------

    def _stream_tails(self) -> dict[tuple[str, str], tuple[int, str]]:
        """The newest sequence number of every shard of every stream in DynamoDB Local, read now."""
        tails: dict[tuple[str, str], tuple[int, str]] = {}
        start: Optional[str] = None
        while True:
            page = self._call("ListStreams", {**({"ExclusiveStartStreamArn": start} if start else {})}, STREAMS_PREFIX)
            for stream in page.get("Streams", []):
                arn = stream["StreamArn"]
                shard_start: Optional[str] = None
                while True:
                    args: dict[str, Any] = {"StreamArn": arn}
                    if shard_start:
                        args["ExclusiveStartShardId"] = shard_start
                    desc = self._call("DescribeStream", args, STREAMS_PREFIX)["StreamDescription"]
                    for shard in desc.get("Shards", []):
                        last = self._shard_tail(arn, shard["ShardId"])
                        if last is not None:
                            tails[(arn, shard["ShardId"])] = last
                    shard_start = desc.get("LastEvaluatedShardId")
                    if not shard_start:
                        break
            start = page.get("LastEvaluatedStreamArn")
            if not start:
                return tails

    def _shard_tail(self, arn: str, shard: str) -> Optional[tuple[int, str]]:
        iterator = self._call(
            "GetShardIterator",
            {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"},
            STREAMS_PREFIX,
        ).get("ShardIterator")
        last: Optional[tuple[int, str]] = None
        while iterator:
            page = self._call("GetRecords", {"ShardIterator": iterator, "Limit": 1000}, STREAMS_PREFIX)
            records = page.get("Records", [])
            if not records:
                break
            seq = records[-1]["dynamodb"]["SequenceNumber"]
            last = (int(seq), seq)
            iterator = page.get("NextShardIterator")
        return last

    def _mark_stream_tails(self) -> None:
        tails = self._stream_tails()
        with self._state_lock:
            self._marks.append((self._now(), tails))

    def _trim(self, tails: dict[tuple[str, str], tuple[int, str]]) -> None:
        with self._state_lock:
            for shard, seq in tails.items():
                if shard not in self._trimmed or self._trimmed[shard][0] < seq[0]:
                    self._trimmed[shard] = seq

    def _get_shard_iterator(self, headers: dict[str, str], body: bytes) -> tuple[int, list[Any], bytes]:
        params = orjson.loads(body)
        shard = (params.get("StreamArn", ""), params.get("ShardId", ""))
        trimmed = self._trimmed.get(shard)
        if trimmed is not None:
            kind = params.get("ShardIteratorType")
            if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and int(params["SequenceNumber"]) <= trimmed[0]:
                raise DoubleError(
                    "TrimmedDataAccessException",
                    f"The requested sequence number {params['SequenceNumber']} is beyond the trim horizon "
                    f"of shard {shard[1]} (retention {self.retention_seconds:.0f}s)",
                )
            if kind == "TRIM_HORIZON":
                params = {**params, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": trimmed[1]}
                body = orjson.dumps(params)
        status, out_headers, data = self._forward(headers, body)
        if status == 200:
            iterator = orjson.loads(data).get("ShardIterator")
            if iterator:
                with self._state_lock:
                    self._iterators[iterator] = shard
        return status, out_headers, data

    def _get_records(self, headers: dict[str, str], body: bytes) -> tuple[int, list[Any], bytes]:
        """GetRecords forwarded; trimmed records dropped and record times put on the double's clock."""
        shard = self._iterators.get(orjson.loads(body).get("ShardIterator", ""))
        status, out_headers, data = self._forward(headers, body)
        if status != 200:
            return status, out_headers, data
        answer = orjson.loads(data)
        trimmed = self._trimmed.get(shard) if shard else None
        records = answer.get("Records", [])
        if trimmed is not None:
            records = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) > trimmed[0]]
        if len(self._offsets) > 1 and shard:
            for record in records:
                created = record["dynamodb"].get("ApproximateCreationDateTime")
                if isinstance(created, (int, float)):
                    record["dynamodb"]["ApproximateCreationDateTime"] = self._record_time(
                        shard[0], record["dynamodb"], float(created)
                    )
        answer["Records"] = records
        if shard and answer.get("NextShardIterator"):
            with self._state_lock:
                self._iterators[answer["NextShardIterator"]] = shard
        return 200, [], orjson.dumps(answer)

    # -- control plane ------------------------------------------------------------------

    def _table_name(self, table_arn: str) -> str:
        if ":table/" not in table_arn:
            raise _validation(f"Invalid TableArn: {table_arn}")
        return table_arn.split(":table/", 1)[1].split("/", 1)[0]

    def _check_table(self, name: str) -> dict[str, Any]:
        try:
            return dict(self._call("DescribeTable", {"TableName": name})["Table"])
        except DoubleError as exc:
            if exc.type.endswith("ResourceNotFoundException"):
                raise DoubleError("TableNotFoundException", f"Table not found: {name}") from None
            raise

    def _table_id(self, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tap-dynamodb-export-double:{name}"))

    def _backups_description(self, name: str) -> dict[str, Any]:
        window = self._pitr_window(name)
        pitr: dict[str, Any] = {"PointInTimeRecoveryStatus": "ENABLED" if window else "DISABLED"}
        if window:
            pitr.update(
                EarliestRestorableDateTime=window[0], LatestRestorableDateTime=window[1], RecoveryPeriodInDays=PITR_DAYS
            )
        return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}

    def _op_DescribeContinuousBackups(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("TableName", ""))
        if name.startswith("arn:"):
            name = self._table_name(name)
        self._check_table(name)
        return {"ContinuousBackupsDescription": self._backups_description(name)}

    def _op_UpdateContinuousBackups(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("TableName", ""))
        if name.startswith("arn:"):
            name = self._table_name(name)
        self._check_table(name)
        spec = params.get("PointInTimeRecoverySpecification")
        if not isinstance(spec, dict) or "PointInTimeRecoveryEnabled" not in spec:
            raise _validation("PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled is required")
        with self._state_lock:
            if spec["PointInTimeRecoveryEnabled"]:
                self._pitr.setdefault(name, self._now())
            else:
                self._pitr.pop(name, None)
        return {"ContinuousBackupsDescription": self._backups_description(name)}

    def _op_DescribeExport(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = str(params.get("ExportArn", ""))
        with self._state_lock:
            export = self._exports.get(arn)
            if export is None:
                raise DoubleError("ExportNotFoundException", f"Export not found: {arn}")
            export.polls += 1
            return {"ExportDescription": export.description(self._shown_status(export))}

    def _shown_status(self, export: Export) -> str:
        if export.polls <= self.in_progress_polls or not export.done.is_set():
            return "IN_PROGRESS"
        return export.status

    def _op_ListExports(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = int(params.get("MaxResults", LIST_EXPORTS_MAX))
        if not 1 <= limit <= LIST_EXPORTS_MAX:
            raise _validation(f"MaxResults must be between 1 and {LIST_EXPORTS_MAX}, got {limit}")
        token = params.get("NextToken")
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(str(token)).decode("ascii"))
            except ValueError:
                raise _validation(f"Invalid NextToken: {token}") from None
        with self._state_lock:
            exports = [e for e in self._exports.values() if params.get("TableArn") in (None, e.table_arn)]
            page = exports[start : start + limit]
            answer: dict[str, Any] = {
                "ExportSummaries": [
                    {"ExportArn": e.arn, "ExportStatus": self._status_for_listing(e), "ExportType": e.export_type}
                    for e in page
                ]
            }
        if start + limit < len(exports):
            answer["NextToken"] = base64.urlsafe_b64encode(str(start + limit).encode("ascii")).decode("ascii")
        return answer

    def _status_for_listing(self, export: Export) -> str:
        return export.status if export.done.is_set() else "IN_PROGRESS"

    def _op_ExportTableToPointInTime(self, params: dict[str, Any]) -> dict[str, Any]:
        token = str(params.get("ClientToken") or uuid.uuid4())
        fingerprint = _key_id({k: v for k, v in params.items() if k != "ClientToken"})
        with self._state_lock:
            known = self._tokens.get(token)
            if known is not None:
                if known[0] != fingerprint:
                    raise DoubleError(
                        "ExportConflictException",
                        f"ClientToken {token} was already used for an export with different parameters",
                    )
                export = self._exports[known[1]]
                return {"ExportDescription": export.description(self._status_for_listing(export))}
        table_arn = str(params.get("TableArn", ""))
        bucket = str(params.get("S3Bucket", ""))
        if not table_arn or not bucket:
            raise _validation("TableArn and S3Bucket are required")
        name = self._table_name(table_arn)
        self._check_table(name)
        export_format = str(params.get("ExportFormat", "DYNAMODB_JSON"))
        if export_format not in ("DYNAMODB_JSON", "ION"):
            raise _validation(f"ExportFormat must be DYNAMODB_JSON or ION, not {export_format}")
        if export_format == "ION" and not _ion_available():
            raise _validation("ION not supported by this double (the amazon.ion package is not installed)")
        export_type = str(params.get("ExportType", "FULL_EXPORT"))
        if export_type not in ("FULL_EXPORT", "INCREMENTAL_EXPORT"):
            raise _validation(f"ExportType must be FULL_EXPORT or INCREMENTAL_EXPORT, not {export_type}")
        now = self._now()
        window = self._pitr_window(name, now)
        if window is None:
            raise DoubleError(
                "PointInTimeRecoveryUnavailableException", f"Point in time recovery is not enabled for table '{name}'"
            )
        export_time: Optional[float] = None
        from_time = to_time = None
        view_type = None
        if export_type == "FULL_EXPORT":
            if "IncrementalExportSpecification" in params:
                raise _validation("IncrementalExportSpecification is only valid with ExportType INCREMENTAL_EXPORT")
            export_time = _seconds(params["ExportTime"], "ExportTime") if "ExportTime" in params else window[1]
            if not window[0] <= export_time <= window[1]:
                raise DoubleError(
                    "InvalidExportTimeException",
                    f"ExportTime {_iso(export_time)} is outside the point in time recovery window "
                    f"[{_iso(window[0])}, {_iso(window[1])}] of table '{name}'",
                )
        else:
            if "ExportTime" in params:
                raise _validation("ExportTime is not valid with ExportType INCREMENTAL_EXPORT")
            spec = params.get("IncrementalExportSpecification") or {}
            if "ExportFromTime" not in spec or "ExportToTime" not in spec:
                raise _validation("IncrementalExportSpecification needs ExportFromTime and ExportToTime")
            from_time = _seconds(spec["ExportFromTime"], "ExportFromTime")
            to_time = _seconds(spec["ExportToTime"], "ExportToTime")
            view_type = str(spec.get("ExportViewType", "NEW_AND_OLD_IMAGES"))
            if view_type not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
                raise _validation(f"ExportViewType must be NEW_IMAGE or NEW_AND_OLD_IMAGES, not {view_type}")
            length = timedelta(seconds=to_time - from_time)
            if not MIN_INCREMENTAL <= length <= MAX_INCREMENTAL:
                raise _validation(
                    f"The incremental export window must be between 15 minutes and 24 hours, got {length}"
                )
            if from_time < window[0] or to_time > window[1]:
                raise DoubleError(
                    "InvalidExportTimeException",
                    f"The window [{_iso(from_time)}, {_iso(to_time)}) is outside the point in time recovery "
                    f"window [{_iso(window[0])}, {_iso(window[1])}] of table '{name}'",
                )
        export_id = f"{int(now * 1000):014d}-{secrets.token_hex(4)}"
        export = Export(
            arn=f"{table_arn}/export/{export_id}",
            export_id=export_id,
            table_arn=table_arn,
            table_name=name,
            table_id=self._table_id(name),
            params=params,
            client_token=token,
            export_type=export_type,
            export_format=export_format,
            export_time=export_time,
            from_time=from_time,
            to_time=to_time,
            view_type=view_type,
            start_time=now,
            bucket=bucket,
            prefix=str(params.get("S3Prefix") or "").strip("/"),
        )
        with self._state_lock:
            if token in self._tokens:  # a racing twin request won: answer as it did
                return self._op_ExportTableToPointInTime(params)
            self._tokens[token] = (fingerprint, export.arn)
            self._exports[export.arn] = export
            failure, self._fail_next = self._fail_next, None
        worker = threading.Thread(target=self._run_export, args=(export, failure), daemon=True, name=export_id)
        self._workers.append(worker)
        worker.start()
        return {"ExportDescription": export.description("IN_PROGRESS")}

    # -- writing exports -------------------------------------------------------------------

    def _run_export(self, export: Export, failure: Optional[tuple[str, str]]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._put(export.bucket, f"{export.folder}/_started", b"")
            if failure is not None:
                self._finish(export, "FAILED", failure)
                return
            if export.export_type == "FULL_EXPORT":
                self._write_full(export)
            else:
                self._write_incremental(export)
            self._finish(export, "COMPLETED")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "S3Error"))
            self._finish(export, "FAILED", (f"S3{code}" if not code.startswith("S3") else code, str(error)))
        except (BotoCoreError, DoubleError, OSError) as exc:
            self._finish(export, "FAILED", ("UNKNOWN", str(exc)))

    def _finish(self, export: Export, status: str, failure: Optional[tuple[str, str]] = None) -> None:
        with self._state_lock:
            export.status = status
            export.failure = failure
            export.end_time = max(self._now(), export.start_time + 0.001)
        export.done.set()

    def _scan(self, table: str) -> Iterator[list[dict[str, Any]]]:
        """The table, page by page (wire-form items: B stays base64, as in export lines).

        ``scan_segments`` threads run a parallel Scan so that DynamoDB Local (the slow side, a few 10k
        items/s per segment) works on several cores; at most two pages per segment wait in the queue,
        so memory stays a few pages whatever the table's size."""
        segments = max(1, self.scan_segments)
        pages: queue.Queue[Any] = queue.Queue(maxsize=2 * segments)
        finished = object()
        stop = threading.Event()

        def produce(segment: int) -> None:
            # DynamoDB Local builds 1 MB pages slowly: measured 4-5x faster with 1000-item pages.
            args: dict[str, Any] = {"TableName": table, "Limit": self.scan_page_items}
            if segments > 1:
                args.update(Segment=segment, TotalSegments=segments)
            try:
                while not stop.is_set():
                    page = self._call("Scan", args)
                    pages.put(page.get("Items", []))
                    last = page.get("LastEvaluatedKey")
                    if not last:
                        break
                    args["ExclusiveStartKey"] = last
            except (DoubleError, OSError, http.client.HTTPException) as exc:
                pages.put(exc)
            pages.put(finished)

        threads = [threading.Thread(target=produce, args=(n,), daemon=True) for n in range(segments)]
        for thread in threads:
            thread.start()
        running = segments
        try:
            while running:
                page = pages.get()
                if page is finished:
                    running -= 1
                elif isinstance(page, Exception):
                    raise page
                else:
                    yield page
        finally:
            stop.set()
            while any(t.is_alive() for t in threads):  # unblock producers waiting on a full queue
                try:
                    pages.get(timeout=0.05)
                except queue.Empty:
                    pass

    def _partition_of(self, key: dict[str, Any], hash_key: str) -> int:
        typed = key[hash_key]
        (value,) = typed.values()
        return zlib.crc32(str(value).encode("utf-8")) % self.partitions

    def _writers(self, export: Export, folder: str) -> list[_PartFiles]:
        extension = "ion" if export.export_format == "ION" else "json"
        return [_PartFiles(self, export, folder, extension) for _ in range(max(1, self.partitions))]

    def _encode(self, export: Export, line: dict[str, Any]) -> bytes:
        return _ion_line(line) if export.export_format == "ION" else orjson.dumps(line) + b"\n"

    def _write_full(self, export: Export) -> None:
        """The table at ExportTime: scanned now, writes at or after it undone. The write lock is held
        for the scan, so no write slips between the scan and the journal it is checked against."""
        assert export.export_time is not None
        cut = _micros(export.export_time)
        names = self._key_names(export.table_name)
        writers = self._writers(export, f"{export.folder}/data")
        count = size = 0
        with self._write_lock:
            undo: dict[bytes, Optional[dict[str, Any]]] = {}
            for entry in self._journal.get(export.table_name, ()):
                if entry.micros >= cut and entry.key_id not in undo:
                    undo[entry.key_id] = entry.old
            for page in self._scan(export.table_name):
                for item in page:
                    if undo and _key_id({n: item[n] for n in names}) in undo:
                        continue
                    line = self._encode(export, {"Item": item})
                    writers[self._partition_of(item, names[0])].add(line)
                    count += 1
                    size += len(line)
            for old in undo.values():
                if old is not None:
                    line = self._encode(export, {"Item": old})
                    writers[self._partition_of(old, names[0])].add(line)
                    count += 1
                    size += len(line)
        self._close_and_describe(export, writers, count, size)

    def _write_incremental(self, export: Export) -> None:
        """Per key, the net change of the writes in [from, to): one line, the last write's timestamp."""
        assert export.from_time is not None and export.to_time is not None
        low, high = _micros(export.from_time), _micros(export.to_time)
        names = self._key_names(export.table_name)
        with self._write_lock:
            window = [e for e in self._journal.get(export.table_name, ()) if low <= e.micros < high]
        net: dict[bytes, list[Any]] = {}  # key id -> [key, first old, last new, last micros]
        for entry in window:
            if entry.key_id in net:
                net[entry.key_id][2:] = [entry.new, entry.micros]
            else:
                net[entry.key_id] = [entry.key, entry.old, entry.new, entry.micros]
        # AWS's incremental data files share one folder under the prefix, not the export's folder.
        base = f"{export.prefix}/AWSDynamoDB/data" if export.prefix else "AWSDynamoDB/data"
        writers = self._writers(export, base)
        count = size = 0
        for key, old, new, micros in net.values():
            if old is None and new is None:
                continue  # created and deleted inside the window: AWS shows nothing
            line: dict[str, Any] = {"Metadata": {"WriteTimestampMicros": {"N": str(micros)}}, "Keys": key}
            if new is not None:
                line["NewImage"] = new
            if old is not None and export.view_type == "NEW_AND_OLD_IMAGES":
                line["OldImage"] = old
            encoded = self._encode(export, line)
            writers[self._partition_of(key, names[0])].add(encoded)
            count += 1
            size += len(encoded)
        self._close_and_describe(export, writers, count, size)

    def _close_and_describe(self, export: Export, writers: list[_PartFiles], count: int, size: int) -> None:
        for writer in writers:
            writer.close(final=True)
        files = [entry for writer in writers for entry in writer.manifest]
        export.data_keys = [entry["dataFileS3Key"] for entry in files]
        export.item_count, export.billed_bytes = count, size
        self._put_manifest_files(export, files)
        end = max(self._now(), export.start_time + 0.001)
        summary: dict[str, Any] = {
            "version": "2020-06-30" if export.export_type == "FULL_EXPORT" else "2023-08-01",
            "exportArn": export.arn,
            "startTime": _iso(export.start_time),
            "endTime": _iso(end),
            "tableArn": export.table_arn,
            "tableId": export.table_id,
            "exportTime": _iso(export.export_time if export.export_time is not None else end),
            "s3Bucket": export.bucket,
            "s3Prefix": export.params.get("S3Prefix"),
            "s3SseAlgorithm": export.params.get("S3SseAlgorithm", "AES256"),
            "s3SseKmsKeyId": export.params.get("S3SseKmsKeyId"),
            "manifestFilesS3Key": f"{export.folder}/manifest-files.json",
            "billedSizeBytes": size,
            "itemCount": count,
            "outputFormat": export.export_format,
        }
        if export.export_type == "INCREMENTAL_EXPORT":
            assert export.from_time is not None and export.to_time is not None
            del summary["exportTime"]
            summary.update(
                exportFromTime=_iso(export.from_time),
                exportToTime=_iso(export.to_time),
                outputView=export.view_type,
                exportType="INCREMENTAL_EXPORT",
            )
        body = orjson.dumps(summary)
        self._put(export.bucket, export.manifest_key, body)
        self._put(export.bucket, f"{export.folder}/manifest-summary.checksum", hashlib.md5(body).hexdigest().encode())

    def _put_manifest_files(self, export: Export, files: list[dict[str, Any]]) -> None:
        body = b"".join(orjson.dumps(entry) + b"\n" for entry in files)
        self._put(export.bucket, f"{export.folder}/manifest-files.json", body)
        self._put(export.bucket, f"{export.folder}/manifest-files.checksum", hashlib.md5(body).hexdigest().encode())


# --------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------


def _handler_for(double: ExportDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """HTTP/1.1 with keep-alive (botocore pools connections); every answer has a Content-Length."""

        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            target = self.headers.get("X-Amz-Target", "")
            try:
                status, out_headers, data = double.handle(target, headers, body)
            except (OSError, http.client.HTTPException) as exc:
                status, out_headers = 500, []
                data = orjson.dumps({"__type": ERROR_PREFIX + "InternalServerError", "message": str(exc)})
            self.send_response(status)
            sent = set()
            for name, value in out_headers:
                lowered = name.lower()
                if lowered in _HOP_HEADERS or lowered in ("x-amz-crc32", "server"):
                    continue
                sent.add(lowered)
                self.send_header(name, value)
            if "content-type" not in sent:
                self.send_header("Content-Type", JSON_CONTENT_TYPE)
            if "x-amzn-requestid" not in sent:
                self.send_header("x-amzn-RequestId", uuid.uuid4().hex.upper())
            if status >= 400:
                try:
                    error_type = str(orjson.loads(data).get("__type", ""))
                except orjson.JSONDecodeError:
                    error_type = ""
                if error_type and "x-amzn-errortype" not in sent:
                    self.send_header("x-amzn-ErrorType", error_type.rsplit("#", 1)[-1])
            self.send_header("x-amz-crc32", str(zlib.crc32(data)))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def date_time_string(self, timestamp: Optional[float] = None) -> str:
            """The Date header tells the double's clock, not the machine's."""
            return email.utils.formatdate(double._now(), usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own logs
            pass

    return Handler
