"""The Singer message writer: one buffered stream of JSON lines on stdout.

Messages are encoded with orjson (which also writes our exact-number Fragments) into a
buffer that goes to the file in large writes. The buffer is flushed before every STATE
message is written and right after it, so a target never receives a STATE before the
records it covers, and a STATE the tap has emitted has really left the process. The writer
knows nothing of decoding: it is handed finished records.
"""

from __future__ import annotations

import sys
from typing import Any, BinaryIO, Dict, Iterable, List, Optional

import orjson

FLUSH_BYTES = 1 << 17


class MessageWriter:
    """Writes SCHEMA, RECORD, BATCH, STATE and ACTIVATE_VERSION messages."""

    def __init__(self, out: Optional[BinaryIO] = None, flush_bytes: int = FLUSH_BYTES):
        self._out = out if out is not None else sys.stdout.buffer
        self._buffer = bytearray()
        self._flush_bytes = flush_bytes
        self.records_written = 0

    def _append(self, line: bytes) -> None:
        self._buffer += line
        if len(self._buffer) >= self._flush_bytes:
            self._drain()

    def _drain(self) -> None:
        if self._buffer:
            self._out.write(self._buffer)
            self._buffer.clear()

    def flush(self) -> None:
        """Hand everything written so far to the reader."""
        self._drain()
        self._out.flush()

    def message(self, message: Dict[str, Any]) -> None:
        self._append(orjson.dumps(message) + b"\n")

    def schema(self, stream: str, schema: Dict[str, Any], key_properties: List[str]) -> None:
        self.message({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": key_properties})

    def activate_version(self, stream: str, version: int) -> None:
        self.message({"type": "ACTIVATE_VERSION", "stream": stream, "version": version})

    def batch(
        self, stream: str, encoding: Dict[str, str], manifest: List[str], version: Optional[int], records: int
    ) -> None:
        """A BATCH message (Meltano SDK) for files already complete at their URIs; `records` they hold.

        `version` is the SDK message's optional field (the table version of the records); the
        records count toward `records_written`, as RECORDs do.
        """
        message: Dict[str, Any] = {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": manifest}
        if version is not None:
            message["version"] = version
        self.message(message)
        self.records_written += records

    def state(self, value: Dict[str, Any]) -> None:
        """Write a STATE only after every record before it has left the process."""
        self.flush()
        self._out.write(orjson.dumps({"type": "STATE", "value": value}) + b"\n")
        self._out.flush()

    def records(
        self,
        stream: str,
        records: Iterable[Dict[str, Any]],
        version: Optional[int],
        time_extracted: Optional[str] = None,
    ) -> int:
        """Write many RECORDs of one stream; the envelope is encoded once, not per record."""
        count = append_records(self._buffer, stream, records, version, time_extracted)
        self.records_written += count
        if len(self._buffer) >= self._flush_bytes:
            self._drain()
        return count

    def raw(self, lines: bytes, count: int) -> int:
        """Write RECORD lines encoded elsewhere (by record_lines, in an export reader process); `count` of them."""
        self._buffer += lines
        self.records_written += count
        if len(self._buffer) >= self._flush_bytes:
            self._drain()
        return count


def append_records(
    buffer: bytearray,
    stream: str,
    records: Iterable[Dict[str, Any]],
    version: Optional[int],
    time_extracted: Optional[str] = None,
) -> int:
    """Append RECORD lines of one stream to `buffer`; the number appended."""
    head = b'{"type":"RECORD","stream":' + orjson.dumps(stream) + b',"record":'
    tail = b""
    if version is not None:
        tail += b',"version":' + str(int(version)).encode()
    if time_extracted:
        tail += b',"time_extracted":"' + time_extracted.encode() + b'"'
    tail += b"}\n"
    dumps = orjson.dumps
    count = 0
    for record in records:
        buffer += head
        buffer += dumps(record)
        buffer += tail
        count += 1
    return count


def record_lines(
    stream: str, records: Iterable[Dict[str, Any]], version: Optional[int], time_extracted: Optional[str] = None
) -> bytes:
    """RECORD lines exactly as MessageWriter.records writes them: pure, so another process can encode them."""
    buffer = bytearray()
    append_records(buffer, stream, records, version, time_extracted)
    return bytes(buffer)
