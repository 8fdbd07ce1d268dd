"""Reading a DynamoDB export's data files: manifests here, data files in worker processes.

The parent reads `manifest-summary.json`, then `manifest-files.json` (one line per data file:
itemCount, md5Checksum, dataFileS3Key) through the S3 seam. The data files are read in
`export_workers` processes, because turning lines into records is CPU work that threads
cannot share under the GIL. Workers are started with the `spawn` method (no copy of the
parent's clients, sockets or threads) and import nothing of botocore: the parent signs a
presigned GET URL for each file just before handing it out, so no credentials reach them.

A worker streams its file (urllib, gunzip block by block, the MD5 over the gzip bytes), cuts
it into chunks (CHUNK_LINES lines or CHUNK_BYTES bytes, whichever comes first), decodes each chunk with the stream's value pipeline (the
decoder `replication.records.item_decoder` gives Scan pages, projection and row filter applied
client-side, as DynamoDB would have applied them to a Scan) and encodes the RECORD lines
itself (`output.writer.record_lines`). The parent receives `Chunk`s: the bytes, the number of
records, where in the file they end, and the worker's schema when decoding widened it. So the
parent only merges schemas, writes bytes and bookmarks; it decodes nothing.

Memory is bounded by the result queue (CHUNKS_PER_WORKER chunks per worker) plus the chunk
each worker is building: never by a file's size. At a file's end the worker checks its line
count against the manifest's itemCount and its MD5 against md5Checksum; a mismatch, a
truncated or corrupt gzip, or a line that is not an export line is a one-line error naming
the file. A zero-byte file and an empty gzip both hold no items. The last chunk of a file
(`done`) is only sent after those checks pass.

Line kinds: how a line becomes what the decoder takes depends on the export (a full export's
`{"Item": ...}` lines, an incremental export's change lines). `LINE_KINDS` maps a kind's name
to a factory `(config, plan) -> ItemDecoder` whose `decode` takes parsed lines; adding a kind
is one factory and one entry here (workers look kinds up by name, after the spawn).
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import http.client
import importlib.machinery
import logging
import multiprocessing
import os
import queue
import sys
import time
import urllib.error
import urllib.request
import zlib
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import orjson

from ..catalog.plan import StreamPlan
from ..errors import TapError
from ..output.batch import ClosedPart, PartWriter
from ..output.writer import record_lines
from ..replication.records import export_change_decoder, item_decoder
from ..settings import SECRET_KEYS, BatchConfig, Config
from ..values.decoder import Decoded, ItemDecoder
from ..values.export_changes import LINE_KIND as INCREMENTAL_LINES
from ..values.numbers import numbers_are_json
from ..values.schema import Schema

if TYPE_CHECKING:  # the parent's S3 seam; workers must not import botocore
    from ..aws.api import S3

LOGGER = logging.getLogger("tap_dynamodb")

CHUNK_LINES = 1000  # lines decoded, encoded and handed to the parent at a time, at most
CHUNK_BYTES = 1 << 20  # ... and at most about this many bytes of lines (items may be 400 KB each)
CHUNKS_PER_WORKER = 2  # chunks in the result queue per worker: the memory bound
READ_BYTES = 1 << 16  # gzip bytes read from the HTTP response at a time
URL_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 1.0  # how often a blocked worker looks whether its parent is still there
FETCH_ATTEMPTS = 4  # reads of one file after connection failures, each continuing after the lines sent

FULL = "full"


class ExportFileError(Exception):
    """A data file that is not what its manifest says, or could not be read; the message names the file.

    `retryable`: the connection failed (not the file), so reading it again may succeed.
    """

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


# --------------------------------------------------------------------------
# Manifests (parent)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """One line of manifest-files.json; `index` is its position there (the bookmark's name for it)."""

    index: int
    key: str
    item_count: int
    md5: Optional[str]  # base64 MD5 of the gzip bytes, when the manifest gives one


@dataclass(frozen=True)
class Manifest:
    export_arn: str
    bucket: str
    summary: dict[str, Any]  # manifest-summary.json as read (incremental exports add their window here)
    files: tuple[DataFile, ...]

    @property
    def item_count(self) -> int:
        return sum(f.item_count for f in self.files)


def read_manifest(s3: S3, description: dict[str, Any]) -> Manifest:
    """The COMPLETED export's manifests; TapError naming the object when one is unreadable or inconsistent."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..aws.errors import describe_aws_error

    arn, bucket = description["ExportArn"], description["S3Bucket"]
    summary_key = description.get("ExportManifest")
    if not summary_key:
        raise TapError(f"export {arn} is COMPLETED but names no ExportManifest; AWS's answer is incomplete")
    try:
        summary = s3.get_json(bucket, summary_key)
        files_key = summary.get("manifestFilesS3Key") if isinstance(summary, dict) else None
        if not files_key:
            raise TapError(f"s3://{bucket}/{summary_key} has no manifestFilesS3Key; is it an export's manifest?")
        lines = s3.get_bytes(bucket, files_key).splitlines()
    except (ClientError, BotoCoreError) as exc:
        raise describe_aws_error(exc, f"reading the manifests of export {arn} from bucket {bucket}") from None
    except ValueError as exc:
        raise TapError(f"s3://{bucket}/{summary_key} is not JSON ({exc})") from None
    files = []
    for number, line in enumerate(line for line in lines if line.strip()):
        try:
            entry = orjson.loads(line)
            files.append(DataFile(number, entry["dataFileS3Key"], int(entry["itemCount"]), entry.get("md5Checksum")))
        except (ValueError, KeyError, TypeError):
            raise TapError(f"s3://{bucket}/{files_key} line {number + 1} is not a manifest line") from None
    manifest = Manifest(arn, bucket, summary, tuple(files))
    expected = summary.get("itemCount")
    if isinstance(expected, int) and expected != manifest.item_count:
        raise TapError(
            f"export {arn}: manifest-summary.json says {expected} items but manifest-files.json lists "
            f"{manifest.item_count}; the export's manifests disagree"
        )
    return manifest


# --------------------------------------------------------------------------
# Line kinds (run in the workers)
# --------------------------------------------------------------------------


class FullLines:
    """A full export's lines, `{"Item": {...}}`: the row filter, then the projection, then the stream's decoder."""

    def __init__(self, config: Config, plan: StreamPlan):
        self._decoder = item_decoder(config, plan)
        self._project = plan.projection.apply if plan.projection else None
        self._matches = plan.row_filter.matches if plan.row_filter else None

    @property
    def schema(self) -> Schema:
        return self._decoder.schema

    def decode(self, lines: Iterable[dict[str, Any]], numbers_checked: bool = False) -> Decoded:
        items = [line["Item"] for line in lines]
        if self._matches is not None:  # on the whole item, as Scan's FilterExpression is
            items = [item for item in items if self._matches(item)]
        if self._project is not None:
            items = [self._project(item) for item in items]
        return self._decoder.decode(items, numbers_checked)


LineKind = Callable[[Config, StreamPlan], ItemDecoder]
"""A line kind: (config, plan) → a decoder whose `decode` takes parsed export lines."""

LINE_KINDS: dict[str, LineKind] = {FULL: FullLines, INCREMENTAL_LINES: export_change_decoder}


# --------------------------------------------------------------------------
# What crosses between the processes
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadSpec:
    """Everything a worker needs to turn lines into RECORD lines (or batch files): picklable, without credentials.

    `batch`: set for a full load with batch_config; the worker then writes each file's records
    into batch parts itself (local files only: `staging_dir` for an s3:// root, which the parent
    uploads) and hands the parent the closed parts, so the records never cross the stdout pipe.
    """

    kind: str
    config: Config
    plan: StreamPlan
    version: Optional[int]
    time_extracted: Optional[str]
    chunk_lines: int = CHUNK_LINES
    chunk_bytes: int = CHUNK_BYTES
    batch: Optional[BatchConfig] = None
    staging_dir: Optional[str] = None


def worker_config(config: Config) -> Config:
    """The config without its secrets: workers decode, they never call AWS."""
    cleared: dict[str, Any] = dict.fromkeys(SECRET_KEYS)
    return replace(config, **cleared)


@dataclass(frozen=True)
class FileTask:
    file: DataFile
    url: str
    skip_lines: int  # lines already written by an earlier run: read (for the checks) but not emitted
    first_part: int = 0  # batch files: the number of the file's next part (parts announced before)


@dataclass(frozen=True)
class Chunk:
    """Records of one data file, ready to write: `data` holds `count` RECORD lines, or (batch files)
    `parts` holds them in closed parts, each ending at a part boundary (`line`) the bookmark may keep."""

    index: int  # the data file's index
    line: int  # lines of the file read up to the end of this chunk (what the bookmark keeps)
    data: bytes
    count: int
    schema: Optional[Schema]  # the worker's (widened) schema when decoding widened it, else None
    done: bool  # the file's last chunk: its checks passed
    file_bytes: int  # gzip bytes of the file (set on the last chunk)
    parts: tuple[ClosedPart, ...] = ()  # batch files: complete parts (local files) for the parent to announce


@dataclass(frozen=True)
class WorkerError:
    index: int
    message: str


# --------------------------------------------------------------------------
# Reading one file (a worker's work; also callable in-process)
# --------------------------------------------------------------------------


class _Gunzip:
    """Streaming gunzip of one or more concatenated gzip members, with the MD5 of the gzip bytes."""

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(wbits=31)
        self.md5 = hashlib.md5()  # AWS's checksum of the file, not security
        self.size = 0

    def feed(self, block: bytes) -> bytes:
        self.md5.update(block)
        self.size += len(block)
        out = self._inflater.decompress(block)
        while self._inflater.eof and self._inflater.unused_data:
            rest = self._inflater.unused_data
            self._inflater = zlib.decompressobj(wbits=31)
            out += self._inflater.decompress(rest)
        return out

    @property
    def complete(self) -> bool:
        """True at a member's end, or when nothing was read (a zero-byte file holds no items)."""
        return self.size == 0 or self._inflater.eof


def _take(lines: list[bytes], room_lines: int, room_bytes: int) -> int:
    """How many of `lines` fit in a chunk with room for `room_lines` lines and `room_bytes` bytes.

    The line that reaches the byte room is taken (a chunk ends once it holds chunk_bytes).
    Whole blocks of lines are measured in C (accumulate, bisect) rather than line by line in
    Python: with small items that loop was a fifth of a worker's time.
    """
    head = lines[:room_lines]
    sizes = list(accumulate(map(len, head)))
    return min(len(head), bisect_left(sizes, room_bytes) + 1)


class _RecordLines:
    """The RECORD path's output of a file: every decoded chunk goes to the parent as RECORD lines."""

    def __init__(self, task: FileTask, spec: ReadSpec):
        self._task, self._spec = task, spec

    def room(self) -> int:
        """Lines the next chunk may hold."""
        return self._spec.chunk_lines

    def add(self, decoded: Decoded, line: int, done: bool, size: int) -> Optional[Chunk]:
        spec = self._spec
        data = record_lines(spec.plan.name, decoded.records, spec.version, spec.time_extracted)
        schema = spec.plan.schema if decoded.widened else None  # the decoder widens plan.schema in place
        return Chunk(self._task.file.index, line, data, len(decoded.records), schema, done, size)

    def abort(self) -> None:
        pass


class _BatchParts:
    """A file's records into batch parts of `batch_size` records, numbered from `task.first_part`.

    The parent hears of the file only when a part is closed (or the file ends): each Chunk then
    ends at a part boundary, so the bookmark the parent moves after announcing the part always
    says where the next part starts, and a resumed run rewrites the part a killed one was
    writing under the same name. A part never holds more than `batch_size` records: a chunk's
    lines are capped at the room left in the part (a line gives at most one record).
    """

    def __init__(self, task: FileTask, spec: ReadSpec):
        assert spec.batch is not None
        self._task, self._spec, self._config = task, spec, spec.batch
        self._next = task.first_part
        self._open: Optional[PartWriter] = None
        self._widened = False  # a chunk of the open part widened the schema: the parent must hear of it

    def room(self) -> int:
        filled = self._open.records if self._open is not None else 0
        return max(1, min(self._spec.chunk_lines, self._config.batch_size - filled))

    def add(self, decoded: Decoded, line: int, done: bool, size: int) -> Optional[Chunk]:
        spec = self._spec
        self._widened = self._widened or decoded.widened
        if decoded.records:
            if self._open is None:
                self._open = PartWriter(
                    self._config, spec.plan.name, spec.version, self._task.file.index, self._next, spec.staging_dir
                )
            self._open.write(decoded.records)
        if not done and (self._open is None or self._open.records < self._config.batch_size):
            return None
        parts: tuple[ClosedPart, ...] = ()
        if self._open is not None:
            parts = (self._open.close(),)
            self._open = None
            self._next += 1
        schema = spec.plan.schema if self._widened else None
        self._widened = False
        return Chunk(self._task.file.index, line, b"", sum(p.records for p in parts), schema, done, size, parts)

    def abort(self) -> None:
        """Drop the part being written (a failed or stopped read: it was never handed to the parent)."""
        if self._open is not None:
            self._open.abort()
            self._open = None


_Output = Union[_RecordLines, _BatchParts]


def file_chunks(task: FileTask, decoder: ItemDecoder, spec: ReadSpec) -> Iterator[Chunk]:
    """The chunks of one data file after `task.skip_lines`; ExportFileError when it fails a check.

    With `spec.batch` the records go into batch parts and a chunk comes only per closed part
    (and at the file's end), carrying the part instead of RECORD lines.
    """
    out: _Output = _BatchParts(task, spec) if spec.batch is not None else _RecordLines(task, spec)
    try:
        yield from _file_chunks(task, decoder, spec, out)
    finally:
        out.abort()  # the part being written when the read failed or stopped: never handed out, so dropped


def _file_chunks(task: FileTask, decoder: ItemDecoder, spec: ReadSpec, out: _Output) -> Iterator[Chunk]:
    name = task.file.key
    gunzip = _Gunzip()
    pending = b""
    line_number = 0
    batch: list[bytes] = []
    batch_bytes = 0
    try:
        with urllib.request.urlopen(task.url, timeout=URL_TIMEOUT_SECONDS) as response:
            length = response.headers.get("Content-Length")
            while True:
                block = response.read(READ_BYTES)
                if not block:
                    if length is not None and gunzip.size < int(length):  # http.client does not check
                        raise ExportFileError(
                            f"cannot read data file {name}: the connection ended after {gunzip.size} of {length} bytes",
                            True,
                        )
                    break
                lines = (pending + gunzip.feed(block)).split(b"\n")
                pending = lines.pop()
                if b"" in lines or b"\r" in lines:  # blank lines (AWS writes none) are not lines
                    lines = [line for line in lines if line.strip()]
                if line_number < task.skip_lines:  # read before, by an earlier run: checked, not sent
                    skipped = min(len(lines), task.skip_lines - line_number)
                    line_number += skipped
                    del lines[:skipped]
                while lines:
                    room = out.room()
                    taken = _take(lines, room - len(batch), spec.chunk_bytes - batch_bytes)
                    batch += lines[:taken]
                    batch_bytes += sum(map(len, lines[:taken]))
                    line_number += taken
                    del lines[:taken]
                    if len(batch) >= room or batch_bytes >= spec.chunk_bytes:
                        chunk = out.add(_decode(task, decoder, spec, batch, line_number), line_number, False, 0)
                        if chunk is not None:
                            yield chunk
                        batch, batch_bytes = [], 0
    except zlib.error as exc:
        raise ExportFileError(f"data file {name} is not valid gzip ({exc})") from None
    except urllib.error.HTTPError as exc:
        hint = (
            "; the credentials need s3:GetObject on the export's prefix (and kms:Decrypt with SSE-KMS)"
            if exc.code == 403
            else ""
        )
        raise ExportFileError(
            f"cannot read data file {name}: HTTP {exc.code} {exc.reason}{hint}", exc.code >= 500
        ) from None
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, cut short, timed out (URLError too)
        raise ExportFileError(f"cannot read data file {name}: {exc}", True) from None
    if not gunzip.complete:
        raise ExportFileError(f"data file {name} is truncated: its gzip stream ends early ({gunzip.size} bytes read)")
    if pending.strip():
        line_number += 1
        if line_number > task.skip_lines:
            batch.append(pending)
    if line_number != task.file.item_count:
        raise ExportFileError(
            f"data file {name} holds {line_number} lines but manifest-files.json says itemCount "
            f"{task.file.item_count}; the export is damaged: request a new one"
        )
    if task.file.md5 is not None:
        md5 = base64.b64encode(gunzip.md5.digest()).decode()
        if md5 != task.file.md5:
            raise ExportFileError(
                f"data file {name} has MD5 {md5} but manifest-files.json says {task.file.md5}; "
                "the export is damaged: request a new one"
            )
    last = out.add(_decode(task, decoder, spec, batch, line_number), line_number, True, gunzip.size)
    assert last is not None  # a file's end always gives a chunk
    yield last


def _decode(task: FileTask, decoder: ItemDecoder, spec: ReadSpec, batch: list[bytes], line: int) -> Decoded:
    """Parse and decode a chunk's lines; ExportFileError naming the file for a line that is not an export line."""
    body = b",".join(batch)
    try:
        try:
            lines = orjson.loads(b"[" + body + b"]")  # one parse for the chunk
        except ValueError:
            lines = [orjson.loads(raw) for raw in batch]  # to name what is wrong
        # The check Scan pages get (values/numbers.py): when every N is JSON number text already,
        # the decoder takes it as is, which is most of the decoding time saved.
        decoded = decoder.decode(lines, numbers_are_json(body))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExportFileError(
            f"data file {task.file.key} has a line (before line {line + 1}) that is not an export line of kind "
            f"{spec.kind} ({type(exc).__name__}: {exc})"
        ) from None
    return decoded


# --------------------------------------------------------------------------
# The worker processes
# --------------------------------------------------------------------------


def _parent_gone(parent: int) -> bool:
    return os.getppid() != parent


def _put(results: Any, item: Any, parent: int) -> None:
    while True:
        try:
            results.put(item, timeout=POLL_SECONDS)
            # A chunk of batch files is small, so puts rarely block: look at the parent after each
            # one too, or a worker of a killed parent would go on writing parts nobody announces.
            if _parent_gone(parent):
                os._exit(0)
            return
        except queue.Full:
            if _parent_gone(parent):  # killed (kill -9): nobody will read; leave quietly
                os._exit(0)


def _get(tasks: Any, parent: int) -> Optional[FileTask]:
    while True:
        try:
            task: Optional[FileTask] = tasks.get(timeout=POLL_SECONDS)
            return task
        except queue.Empty:
            if _parent_gone(parent):
                os._exit(0)


def worker_main(spec: ReadSpec, tasks: Any, results: Any, parent: int) -> None:
    """A worker: read the files handed out on `tasks` until a None, putting Chunks (or a WorkerError) on `results`."""
    # As the parent does (cli._tune_garbage_collector): decoding makes many short-lived objects
    # without cycles, and the default thresholds would have the collector walk them over and over.
    gc.freeze()
    gc.set_threshold(1_000_000, 50, 100)
    decoder = LINE_KINDS[spec.kind](spec.config, spec.plan)
    while True:
        task = _get(tasks, parent)
        if task is None:
            return
        try:
            _read_one(task, decoder, spec, results, parent)
        except ExportFileError as exc:
            _put(results, WorkerError(task.file.index, str(exc)), parent)
        except Exception as exc:  # noqa: BLE001 - a bug: still one line in the parent, never a hang
            message = f"unexpected {type(exc).__name__} reading data file {task.file.key}: {exc}"
            _put(results, WorkerError(task.file.index, message), parent)


def _read_one(task: FileTask, decoder: ItemDecoder, spec: ReadSpec, results: Any, parent: int) -> None:
    """Send one file's chunks; after a connection failure read it again, continuing after the lines sent."""
    for attempt in range(1, FETCH_ATTEMPTS + 1):
        try:
            for chunk in file_chunks(task, decoder, spec):
                _put(results, chunk, parent)
                task = replace(task, skip_lines=chunk.line, first_part=task.first_part + len(chunk.parts))
            return
        except ExportFileError as exc:
            if not exc.retryable or attempt == FETCH_ATTEMPTS:
                raise
            time.sleep(min(2**attempt, 20) * 0.5)


@contextlib.contextmanager
def _main_module_left_alone() -> Iterator[None]:
    """While workers start: have `spawn` leave the parent's main module out of them.

    A spawned child re-runs the parent's main script (to unpickle anything defined there) unless
    the main module is a package's `__main__`. The tap's console script imports the CLI, and with
    it botocore, so the children would load what they must not need. Workers unpickle nothing
    from the main module (their target lives here), so for the moment of `start()` the main
    module is given a spec named like a package's `__main__`, which multiprocessing skips.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if main is None or spec is not None:
        yield
        return
    main.__spec__ = importlib.machinery.ModuleSpec("tap_dynamodb.__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


def read_files(
    spec: ReadSpec,
    files: Iterable[tuple[DataFile, int]],
    sign: Callable[[DataFile], str],
    workers: int,
    first_parts: Optional[Callable[[int], int]] = None,
) -> Iterator[Chunk]:
    """Chunks of every (file, lines already written) as workers finish them, files in any order.

    `first_parts(index)` (batch files): how many parts of that file were announced already,
    so the worker numbers its next part from there.

    `sign` gives a file's (presigned) URL; it is called just before the file is handed out.
    The workers are stopped when the iteration ends, also when the caller stops early.
    """
    todo = list(files)
    if not todo:
        return
    context = multiprocessing.get_context("spawn")
    count = max(1, min(workers, len(todo)))
    tasks = context.Queue()
    results = context.Queue(maxsize=count * CHUNKS_PER_WORKER)
    processes = [
        context.Process(
            target=worker_main, args=(spec, tasks, results, os.getpid()), name=f"export-reader-{n}", daemon=True
        )
        for n in range(count)
    ]
    with _main_module_left_alone():
        for process in processes:
            process.start()
    waiting = iter(todo)
    outstanding = 0

    def hand_out() -> None:
        nonlocal outstanding
        entry = next(waiting, None)
        if entry is not None:
            data_file, skip = entry
            first = first_parts(data_file.index) if first_parts is not None else 0
            tasks.put(FileTask(data_file, sign(data_file), skip, first))
            outstanding += 1

    try:
        for _ in range(count + 1):  # one spare, so a worker finishing a file finds the next one waiting
            hand_out()
        while outstanding:
            try:
                item = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [p for p in processes if not p.is_alive()]
                if dead:
                    raise TapError(
                        f"an export reader process stopped (exit code {dead[0].exitcode}) while reading; run again "
                        "and it resumes from the last STATE (lower export_workers if memory ran short)"
                    ) from None
                continue
            if isinstance(item, WorkerError):
                raise TapError(item.message)
            yield item
            if item.done:
                outstanding -= 1
                hand_out()
        for _ in processes:
            tasks.put(None)
        for process in processes:
            process.join(timeout=30)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
        tasks.close()
        results.close()
        results.cancel_join_thread()
        tasks.cancel_join_thread()
