"""Batch files: a stream's records written as JSON-lines files that a target bulk-loads (SDK BATCH).

A full load through a Singer pipe is one JSON line per item, parsed again by the target; with
`batch_config` the records go into files instead (one record per line, gzip or plain, on local
disk or S3) and the pipe carries one BATCH message per file. Two pieces:

- `PartWriter` writes one file ("part"). It depends on nothing but its arguments (a
  `BatchConfig`, the stream, version, segment and part number: all picklable), so a worker
  process can write parts too (the export reader's workers). On an s3:// root it writes a local
  staging file; `BatchStorage.publish` in the parent uploads it.
- `BatchStorage` is the parent's side: the check before anything is read (a directory that
  cannot be written, a bucket that does not exist or refuses the credentials), opening parts,
  publishing closed ones, and removing parts a killed run wrote but never announced.

Names are deterministic, `<prefix><stream>-<version>-<segment>-<part>.jsonl[.gz]`, so a resumed
run writes the part it was writing when it died under the same name; why that leaves a target
no second copy of any record is in docs/batch.md.

Each line is exactly the record the RECORD path writes (orjson, exact numbers), plus
`_sdc_table_version` when the stream has a version: an SDK target adds no metadata to records
it reads from files, and without the version a target's ACTIVATE_VERSION would mark every
batch-loaded row as deleted (target-postgres deletes rows whose version is NULL).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterable
from typing import Any, BinaryIO, Callable, NamedTuple, Optional, Union

import orjson

from ..errors import TapError
from ..settings import BatchConfig

LOGGER = logging.getLogger("tap_dynamodb")

# zlib level 1: the tap's CPU is what a full load spends; level 1 gives most of gzip's size
# reduction on JSON lines for a fraction of level 6's time (docs/benchmark.md).
GZIP_LEVEL = 1
WRITE_BYTES = 1 << 20  # encoded lines are compressed and written a megabyte at a time
PARTIAL = ".partial"  # a part being written; renamed to its name once complete
VERSION_FIELD = b'"_sdc_table_version":'
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")

Segment = Union[int, str]


def part_name(config: BatchConfig, stream: str, version: Optional[int], segment: Segment, part: int) -> str:
    """The file name of a part: the same for the same stream, version, segment and part number."""
    extension = ".jsonl.gz" if config.compression == "gzip" else ".jsonl"
    return f"{config.prefix}{_UNSAFE.sub('_', stream)}-{version or 0}-{segment}-{part:05d}{extension}"


def part_url(config: BatchConfig, name: str) -> str:
    """The URI a BATCH message's manifest gives for a part (file:///dir/name or s3://bucket/prefix/name)."""
    return f"{config.root}/{name}"


class ClosedPart(NamedTuple):
    """A complete part: its name, manifest URI, the local file holding it, and its record count."""

    name: str
    url: str
    path: str  # the final file (file:// root), or the staging file to upload (s3:// root)
    records: int
    size: int  # bytes as stored


class PartWriter:
    """Writes one part: `write(records)` any number of times, then `close()` (or `abort()`).

    The bytes go to `<name>.partial` and are renamed to `<name>` only once complete and synced,
    so a part under its own name is always whole. Open it in the process that writes it: the
    arguments pickle, an open writer does not.
    """

    def __init__(
        self,
        config: BatchConfig,
        stream: str,
        version: Optional[int],
        segment: Segment,
        part: int,
        staging_dir: Optional[str] = None,
    ):
        self.config = config
        self.name = part_name(config, stream, version, segment, part)
        directory = (staging_dir or tempfile.gettempdir()) if config.is_s3 else config.local_dir
        self.path = os.path.join(directory, self.name)
        self.records = 0
        self._file: Optional[BinaryIO] = open(self.path + PARTIAL, "wb")
        self._zip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if config.compression == "gzip" else None
        self._buffer = bytearray()
        self._size = 0
        # Each record's closing brace is replaced by the version field and a newline.
        self._tail = b"," + VERSION_FIELD + str(int(version)).encode() + b"}\n" if version is not None else b"}\n"

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        """Append records (the RECORD path's dicts), one JSON object per line; the count."""
        dumps, buffer, tail = orjson.dumps, self._buffer, self._tail
        count = 0
        for record in records:
            line = dumps(record)
            if len(line) > 2:
                buffer += memoryview(line)[:-1]
                buffer += tail
            else:  # {}: no comma before the version field
                buffer += b"{"
                buffer += tail[1:] if tail != b"}\n" else tail
            count += 1
        self.records += count
        if len(buffer) >= WRITE_BYTES:
            self._drain()
        return count

    def _drain(self) -> None:
        assert self._file is not None, "part already closed"
        data = self._zip.compress(self._buffer) if self._zip is not None else bytes(self._buffer)
        self._buffer.clear()
        if data:
            self._file.write(data)
            self._size += len(data)

    def close(self) -> ClosedPart:
        """Finish the file (gzip trailer, fsync) and give it its name; the part is then complete."""
        self._drain()
        assert self._file is not None, "part already closed"
        if self._zip is not None:
            tail = self._zip.flush()
            self._file.write(tail)
            self._size += len(tail)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self.path + PARTIAL, self.path)
        return ClosedPart(self.name, part_url(self.config, self.name), self.path, self.records, self._size)

    def abort(self) -> None:
        """Drop an unfinished part (nothing was announced for it)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            try:
                os.unlink(self.path + PARTIAL)
            except FileNotFoundError:
                pass


def _parse_name(rest: str) -> Optional[tuple[str, int]]:
    """(segment, part) from what follows `<prefix><stream>-<version>-` in a part's name."""
    match = re.fullmatch(r"([^-]+)-(\d+)\.jsonl(?:\.gz)?(?:\.partial)?", rest)
    return (match.group(1), int(match.group(2))) if match else None


class BatchStorage:
    """The run's batch storage: checked before any table is read, then parts opened, published and cleaned.

    `s3` is a callable giving the tap's S3 wrapper (aws/api.py `S3`), called only for an
    s3:// root, so a local root never builds an S3 client.
    """

    def __init__(self, config: BatchConfig, s3: Optional[Callable[[], Any]] = None):
        self.config = config
        self._s3_factory = s3
        self._staging: Optional[str] = None

    @property
    def encoding(self) -> dict[str, str]:
        return self.config.encoding

    def _s3(self) -> Any:
        assert self._s3_factory is not None, "an s3:// root needs the tap's S3 client"
        return self._s3_factory()

    @property
    def staging_dir(self) -> Optional[str]:
        """Where parts bound for S3 are written before their upload (made on first use, removed by close)."""
        if not self.config.is_s3:
            return None
        if self._staging is None:
            self._staging = tempfile.mkdtemp(prefix="tap-dynamodb-batch-")
        return self._staging

    def check(self) -> None:
        """TapError (one line) when the root cannot take files: run before any table is read."""
        if self.config.is_s3:
            self._check_s3()
        else:
            self._check_directory()

    def _check_directory(self) -> None:
        directory = self.config.local_dir
        where = f"batch_config.storage.root {self.config.root}"
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise TapError(f"{where}: cannot create the directory ({exc.strerror}); fix the path or its permissions") from None
        if not os.path.isdir(directory):
            raise TapError(f"{where} is not a directory")
        try:
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".tap-dynamodb-write-check-"):
                pass
        except OSError as exc:
            raise TapError(f"{where}: cannot write files there ({exc.strerror}); fix its permissions or the path") from None

    def _check_s3(self) -> None:
        bucket, key_prefix = self.config.bucket_and_key_prefix
        self._s3().check_writable(bucket, f"{key_prefix}{self.config.prefix}.tap-dynamodb-write-check")

    def open_part(self, stream: str, version: Optional[int], segment: Segment, part: int) -> PartWriter:
        return PartWriter(self.config, stream, version, segment, part, self.staging_dir)

    def publish(self, closed: ClosedPart) -> str:
        """Make a closed part readable at its URI (S3: upload it, then drop the staging file); the URI."""
        if self.config.is_s3:
            bucket, key_prefix = self.config.bucket_and_key_prefix
            self._s3().upload_file(closed.path, bucket, key_prefix + closed.name)
            os.unlink(closed.path)
        return closed.url

    def remove_unannounced(self, stream: str, version: Optional[int], announced: Callable[[str], int]) -> int:
        """Delete the parts of `stream`/`version` a killed run left but never announced; how many.

        `announced(segment)` is the number of parts of that segment the state says were announced:
        every part numbered from there on (and every `.partial`) was never in a BATCH message.
        They would be overwritten by name anyway; removing them keeps a root holding only files
        some BATCH message named (a resumed segment that ends with fewer parts leaves none behind).
        """
        start = part_name(self.config, stream, version, "#", 0).split("#")[0]

        def unannounced(name: str) -> bool:
            parsed = _parse_name(name[len(start) :]) if name.startswith(start) else None
            return parsed is not None and (name.endswith(PARTIAL) or parsed[1] >= announced(parsed[0]))

        try:
            removed = self._remove(start, unannounced)
        except Exception as exc:  # best effort: such files are never announced, so no target loads them
            LOGGER.warning(
                "Could not remove the batch files of %s a killed run left unannounced under %s (%s); no target "
                "loads them, but they take space: delete %s* there (S3 needs s3:ListBucket and s3:DeleteObject)",
                stream,
                self.config.root,
                exc,
                start,
            )
            return 0
        if removed:
            LOGGER.info("Removed %d batch file(s) of %s a killed run wrote but never announced", removed, stream)
        return removed

    def _remove(self, start: str, unannounced: Callable[[str], bool]) -> int:
        if self.config.is_s3:
            bucket, key_prefix = self.config.bucket_and_key_prefix
            keys = [k for k in self._s3().list_keys(bucket, key_prefix + start) if unannounced(k[len(key_prefix) :])]
            self._s3().delete_keys(bucket, keys)
            return len(keys)
        removed = 0
        for name in os.listdir(self.config.local_dir):
            if unannounced(name):
                os.unlink(os.path.join(self.config.local_dir, name))
                removed += 1
        return removed

    def close(self) -> None:
        """Remove the staging directory of S3 parts."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
