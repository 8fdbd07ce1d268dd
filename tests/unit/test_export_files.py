"""readers/export_files.py against files on disk (file:// URLs stand in for presigned S3 URLs):
records as a Scan page's decoding gives them, the manifest's checks (line count, MD5, truncated
gzip), empty files, a resumed file, and worker processes (spawn) handing chunks to the parent."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
from pathlib import Path

import orjson
import pytest

from tap_dynamodb.catalog.plan import StreamPlan
from tap_dynamodb.catalog.projection import Projection
from tap_dynamodb.errors import TapError
from tap_dynamodb.output.writer import MessageWriter, record_lines
from tap_dynamodb.readers import export_files
from tap_dynamodb.readers.export_files import DataFile, FileTask, ReadSpec, file_chunks, read_files, read_manifest
from tap_dynamodb.settings import parse_config
from tap_dynamodb.values.decoder import RecordDecoder
from tap_dynamodb.values.filters import RowFilter

CONFIG = parse_config({"region_name": "us-east-1", "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "s"})


def items(count: int, start: int = 0) -> list[dict]:
    out = []
    for n in range(start, start + count):
        item = {"id": {"S": f"k{n:05d}"}, "n": {"N": str(n)}}
        if n % 7 == 0:
            item["late"] = {"M": {"b": {"B": base64.b64encode(bytes([n % 256])).decode()}, "s": {"SS": ["x", "y"]}}}
        out.append(item)
    return out


def plan(**changes) -> StreamPlan:
    schema = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    fields = {
        "stream_id": "t",
        "name": "t",
        "table_name": "t",
        "index_name": None,
        "key_properties": ["id"],
        "schema": schema,
        "method": "FULL_TABLE",
        "projection": None,
    }
    fields.update(changes)
    return StreamPlan(**fields)


def spec(the_plan: StreamPlan, chunk_lines: int = 10) -> ReadSpec:
    return ReadSpec("full", export_files.worker_config(CONFIG), the_plan, 7, "2026-12-01T00:00:00.000000Z", chunk_lines)


def write_file(path: Path, lines: list[dict]) -> DataFile:
    body = gzip.compress(b"".join(orjson.dumps({"Item": item}) + b"\n" for item in lines)) if lines else b""
    path.write_bytes(body)
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    return DataFile(0, path.name, len(lines), md5)


def expected_lines(the_plan: StreamPlan, wire_items: list[dict]) -> bytes:
    decoded = RecordDecoder(the_plan.schema).decode(wire_items)
    return record_lines(the_plan.name, decoded.records, 7, "2026-12-01T00:00:00.000000Z")


def read_all(path: Path, data_file: DataFile, the_plan: StreamPlan, skip: int = 0) -> list:
    the_spec = spec(the_plan)
    decoder = export_files.LINE_KINDS["full"](the_spec.config, the_plan)
    return list(file_chunks(FileTask(data_file, path.as_uri(), skip), decoder, the_spec))


def test_records_are_what_a_scan_page_decodes_to_in_chunks_with_the_last_one_marked_done(tmp_path):
    wire = items(25)
    data_file = write_file(tmp_path / "a.json.gz", wire)
    chunks = read_all(tmp_path / "a.json.gz", data_file, plan())
    assert [c.line for c in chunks] == [10, 20, 25]
    assert [c.done for c in chunks] == [False, False, True]
    assert chunks[-1].file_bytes == (tmp_path / "a.json.gz").stat().st_size
    assert b"".join(c.data for c in chunks) == expected_lines(plan(), wire)
    assert chunks[0].schema is not None and "late" in chunks[0].schema["properties"]  # widened in chunk 1
    assert chunks[1].schema is None or chunks[1].schema == chunks[0].schema


def test_a_resumed_file_emits_only_the_lines_after_the_bookmark(tmp_path):
    wire = items(25)
    data_file = write_file(tmp_path / "a.json.gz", wire)
    chunks = read_all(tmp_path / "a.json.gz", data_file, plan(), skip=12)
    assert sum(c.count for c in chunks) == 13
    assert b"".join(c.data for c in chunks) == expected_lines(plan(), wire[12:])


def test_zero_byte_and_empty_gzip_files_hold_no_items(tmp_path):
    zero = write_file(tmp_path / "zero.json.gz", [])
    (tmp_path / "empty.json.gz").write_bytes(gzip.compress(b""))
    body = (tmp_path / "empty.json.gz").read_bytes()
    empty = DataFile(1, "empty.json.gz", 0, base64.b64encode(hashlib.md5(body).digest()).decode())
    for path, data_file in ((tmp_path / "zero.json.gz", zero), (tmp_path / "empty.json.gz", empty)):
        chunks = read_all(path, data_file, plan())
        assert [(c.count, c.done, c.data) for c in chunks] == [(0, True, b"")]


def test_concatenated_gzip_members_are_one_file(tmp_path):
    wire = items(6)
    body = b"".join(gzip.compress(orjson.dumps({"Item": item}) + b"\n") for item in wire)
    (tmp_path / "m.json.gz").write_bytes(body)
    data_file = DataFile(0, "m.json.gz", 6, base64.b64encode(hashlib.md5(body).digest()).decode())
    chunks = read_all(tmp_path / "m.json.gz", data_file, plan())
    assert b"".join(c.data for c in chunks) == expected_lines(plan(), wire)


@pytest.mark.parametrize("damage", ["truncated", "count", "md5", "not-gzip", "not-a-line"])
def test_a_damaged_file_is_one_line_naming_it(tmp_path, damage):
    path = tmp_path / "bad.json.gz"
    data_file = write_file(path, items(30))
    body = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(body[: len(body) // 2])
        words = "truncated"
    elif damage == "count":
        data_file = DataFile(0, data_file.key, 31, data_file.md5)
        words = "itemCount 31"
    elif damage == "md5":
        data_file = DataFile(0, data_file.key, 30, base64.b64encode(b"0" * 16).decode())
        words = "MD5"
    elif damage == "not-gzip":
        path.write_bytes(b"this is not gzip at all")
        words = "not valid gzip"
    else:
        path.write_bytes(gzip.compress(b'{"Keys": {}}\n'))
        data_file = DataFile(0, data_file.key, 1, None)
        words = "not an export line"
    with pytest.raises(export_files.ExportFileError) as caught:
        read_all(path, data_file, plan())
    message = str(caught.value)
    assert "bad.json.gz" in message and words in message and "\n" not in message


def test_projection_and_row_filter_apply_client_side_as_dynamodb_would(tmp_path):
    wire = items(20)
    row_filter = RowFilter("n >= :low", {}, {":low": {"N": "10"}})
    projected = plan(projection=Projection([("id",), ("late", "s")]), row_filter=row_filter)
    data_file = write_file(tmp_path / "p.json.gz", wire)
    chunks = read_all(tmp_path / "p.json.gz", data_file, projected)
    records = [orjson.loads(line)["record"] for c in chunks for line in c.data.splitlines()]
    assert [r["id"] for r in records] == [f"k{n:05d}" for n in range(10, 20)]
    assert all(set(r) <= {"id", "late"} for r in records)
    assert {json.dumps(r["late"]) for r in records if "late" in r} == {json.dumps({"s": ["x", "y"]})}


def test_worker_processes_hand_every_files_chunks_to_the_parent(tmp_path):
    files, wire_all = [], []
    for n in range(5):
        wire = items(23, start=100 * n)
        data_file = write_file(tmp_path / f"f{n}.json.gz", wire)
        files.append((DataFile(n, data_file.key, data_file.item_count, data_file.md5), 3 if n == 2 else 0))
        wire_all.extend(wire if n != 2 else wire[3:])
    signed = []

    def sign(data_file: DataFile) -> str:
        signed.append(data_file.index)
        return (tmp_path / data_file.key).as_uri()

    chunks = list(read_files(spec(plan()), files, sign, workers=2))
    assert sorted(signed) == [0, 1, 2, 3, 4]
    assert sorted(c.index for c in chunks if c.done) == [0, 1, 2, 3, 4]
    lines = [line for c in chunks for line in c.data.splitlines()]
    assert sorted(lines) == sorted(expected_lines(plan(), wire_all).splitlines())
    for index in range(5):  # a file's chunks arrive in order
        reached = [c.line for c in chunks if c.index == index]
        assert reached == sorted(reached)


def test_a_workers_error_stops_the_read_with_its_one_line(tmp_path):
    good = write_file(tmp_path / "good.json.gz", items(5))
    bad = write_file(tmp_path / "bad.json.gz", items(5))
    bad = DataFile(1, bad.key, 6, bad.md5)
    files = [(good, 0), (bad, 0)]
    with pytest.raises(TapError, match=r"bad\.json\.gz holds 5 lines but manifest-files\.json says itemCount 6"):
        list(read_files(spec(plan()), files, lambda f: (tmp_path / f.key).as_uri(), workers=2))


def test_worker_config_carries_no_secrets():
    cleared = export_files.worker_config(CONFIG)
    assert cleared.aws_access_key_id is None and cleared.aws_secret_access_key is None
    assert cleared.number_format == CONFIG.number_format


class FakeS3:
    def __init__(self, objects: dict):
        self.objects = objects

    def get_bytes(self, bucket, key):
        return self.objects[(bucket, key)]

    def get_json(self, bucket, key):
        return json.loads(self.get_bytes(bucket, key))


def test_manifests_are_read_summary_first_and_must_agree():
    files = b'{"itemCount":2,"md5Checksum":"x","etag":"e","dataFileS3Key":"p/data/a.json.gz"}\n' + (
        b'{"itemCount":0,"md5Checksum":"y","etag":"e","dataFileS3Key":"p/data/b.json.gz"}\n'
    )
    summary = {"manifestFilesS3Key": "p/manifest-files.json", "itemCount": 2, "outputFormat": "DYNAMODB_JSON"}
    s3 = FakeS3({("b", "p/manifest-summary.json"): json.dumps(summary).encode(), ("b", "p/manifest-files.json"): files})
    description = {"ExportArn": "arn:x/export/1-a", "S3Bucket": "b", "ExportManifest": "p/manifest-summary.json"}
    manifest = read_manifest(s3, description)
    assert [(f.index, f.key, f.item_count) for f in manifest.files] == [
        (0, "p/data/a.json.gz", 2),
        (1, "p/data/b.json.gz", 0),
    ]
    s3.objects[("b", "p/manifest-summary.json")] = json.dumps({**summary, "itemCount": 3}).encode()
    with pytest.raises(TapError, match=r"says 3 items but manifest-files\.json lists 2"):
        read_manifest(s3, description)


def test_record_lines_are_exactly_what_the_writer_writes():
    records = [{"id": "a", "n": 1}, {"id": "b"}]
    out = io.BytesIO()
    writer = MessageWriter(out)
    writer.records("s", records, 3, "2026-12-01T00:00:00.000000Z")
    writer.flush()
    assert out.getvalue() == record_lines("s", records, 3, "2026-12-01T00:00:00.000000Z")
    out2 = io.BytesIO()
    writer2 = MessageWriter(out2)
    assert writer2.raw(out.getvalue(), 2) == 2 and writer2.records_written == 2
    writer2.flush()
    assert out2.getvalue() == out.getvalue()


def test_chunks_are_bounded_by_bytes_as_well_as_lines(tmp_path):
    wire = [{**item, "pad": {"S": "x" * 1000}} for item in items(25)]
    data_file = write_file(tmp_path / "big.json.gz", wire)
    the_spec = ReadSpec("full", export_files.worker_config(CONFIG), plan(), 7, None, 1000, 5000)
    decoder = export_files.LINE_KINDS["full"](the_spec.config, the_spec.plan)
    chunks = list(file_chunks(FileTask(data_file, (tmp_path / "big.json.gz").as_uri(), 0), decoder, the_spec))
    assert [c.count for c in chunks] == [5, 5, 5, 5, 5, 0]  # the last, empty, says the file's checks passed
    assert [c.done for c in chunks] == [False] * 5 + [True]


class _Results:
    def __init__(self):
        self.items = []

    def put(self, item, timeout=None):
        self.items.append(item)


def test_a_connection_cut_mid_file_is_read_again_from_the_lines_sent(tmp_path, monkeypatch):
    """A body cut short by the server: the worker fetches the file again and sends only what follows."""
    import http.server
    import threading

    monkeypatch.setattr(export_files.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(export_files, "READ_BYTES", 256)
    wire = [{**item, "pad": {"S": str(n) * 200}} for n, item in enumerate(items(60))]
    data_file = write_file(tmp_path / "f.json.gz", wire)
    body = (tmp_path / "f.json.gz").read_bytes()
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(1)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body if len(served) > 1 else body[: len(body) * 2 // 3])  # first answer cut short

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        the_spec = ReadSpec("full", export_files.worker_config(CONFIG), plan(), 7, "2026-12-01T00:00:00.000000Z", 10)
        decoder = export_files.LINE_KINDS["full"](the_spec.config, the_spec.plan)
        task = FileTask(data_file, f"http://127.0.0.1:{server.server_address[1]}/f.json.gz", 0)
        results = _Results()
        export_files._read_one(task, decoder, the_spec, results, parent=os.getppid())  # this process's: alive
    finally:
        server.shutdown()
    assert len(served) == 2
    assert b"".join(c.data for c in results.items) == expected_lines(plan(), wire)
    assert results.items[-1].done


def batch_spec(the_plan: StreamPlan, root: Path, batch_size: int, compression: str = "none") -> ReadSpec:
    from tap_dynamodb.settings import BatchConfig

    batch = BatchConfig(root.as_uri(), "p-", compression, batch_size)
    return replace_spec(spec(the_plan), batch=batch)


def replace_spec(the_spec: ReadSpec, **changes) -> ReadSpec:
    import dataclasses

    return dataclasses.replace(the_spec, **changes)


def part_records(chunks: list) -> list:
    from tests.helpers import batch_file_lines

    return [r for c in chunks for p in c.parts for r in batch_file_lines(Path(p.path).read_bytes(), None)]


def test_a_worker_writes_a_files_records_into_parts_of_batch_size_ending_at_part_boundaries(tmp_path):
    """Batch files: a chunk per closed part (at most batch_size records), no RECORD bytes, the
    line of each part's end, parts numbered from the task's first part; a resumed file starts
    its next part where the last one ended and rewrites it under the same name."""
    wire = items(57)
    data_file = write_file(tmp_path / "a.json.gz", wire)
    root = tmp_path / "root"
    root.mkdir()
    the_spec = batch_spec(plan(), root, 25)
    decoder = export_files.LINE_KINDS["full"](the_spec.config, the_spec.plan)
    chunks = list(file_chunks(FileTask(data_file, (tmp_path / "a.json.gz").as_uri(), 0, 3), decoder, the_spec))
    assert [(c.line, c.count, c.done, c.data) for c in chunks] == [
        (25, 25, False, b""),
        (50, 25, False, b""),
        (57, 7, True, b""),
    ]
    assert [p.name for c in chunks for p in c.parts] == [f"p-t-7-0-{n:05d}.jsonl" for n in (3, 4, 5)]
    assert chunks[0].schema is not None and "late" in chunks[0].schema["properties"]
    expected = [orjson.loads(line)["record"] for line in expected_lines(plan(), wire).splitlines()]
    lines = part_records(chunks)
    assert [r.pop("_sdc_table_version") for r in lines] == [7] * 57
    assert lines == expected
    assert sorted(os.listdir(root)) == [f"p-t-7-0-{n:05d}.jsonl" for n in (3, 4, 5)]  # no .partial left
    resumed = list(file_chunks(FileTask(data_file, (tmp_path / "a.json.gz").as_uri(), 25, 4), decoder, the_spec))
    assert [p.name for c in resumed for p in c.parts] == [f"p-t-7-0-{n:05d}.jsonl" for n in (4, 5)]
    assert [r["id"] for r in part_records(resumed)] == [f"k{n:05d}" for n in range(25, 57)]


def test_a_failed_file_leaves_no_partial_part(tmp_path):
    data_file = write_file(tmp_path / "bad.json.gz", items(30))
    data_file = DataFile(0, data_file.key, 31, data_file.md5)  # the count check fails at the end
    root = tmp_path / "root"
    root.mkdir()
    the_spec = batch_spec(plan(), root, 20, "gzip")
    decoder = export_files.LINE_KINDS["full"](the_spec.config, the_spec.plan)
    got = []
    with pytest.raises(export_files.ExportFileError, match="itemCount 31"):
        for chunk in file_chunks(FileTask(data_file, (tmp_path / "bad.json.gz").as_uri(), 0), decoder, the_spec):
            got.append(chunk)
    assert [p.name for c in got for p in c.parts] == ["p-t-7-0-00000.jsonl.gz"]
    assert os.listdir(root) == ["p-t-7-0-00000.jsonl.gz"]
