"""Batch files without services: batch_config's checks, part names and encodings, the bookmark, S3 errors."""

from __future__ import annotations

import gzip
import os
import pickle
from decimal import Decimal

import orjson
import pytest
from botocore.session import Session
from botocore.stub import Stubber

from devtools.tap_runner import parse_message
from tap_dynamodb.aws.api import S3
from tap_dynamodb.errors import TapError
from tap_dynamodb.output.batch import BatchStorage, ClosedPart, PartWriter, part_name
from tap_dynamodb.replication.bookmarks import Bookmark, State
from tap_dynamodb.settings import DEFAULT_BATCH_SIZE, BatchConfig, parse_batch_config, parse_config
from tap_dynamodb.values.numbers import number as exact_number


def _config(root: str = "file:///tmp/x", **changes) -> BatchConfig:
    raw = {"encoding": {"format": "jsonl", "compression": "gzip"}, "storage": {"root": root}}
    raw.update(changes)
    parsed = parse_batch_config(raw)
    assert parsed is not None
    return parsed


# ---- batch_config ----


def test_batch_config_in_the_sdk_shape_is_parsed_with_defaults():
    assert _config() == BatchConfig("file:///tmp/x", "", "gzip", DEFAULT_BATCH_SIZE)
    s3 = parse_batch_config(
        {
            "encoding": {"compression": "none"},
            "storage": {"root": "s3://bucket/a/b/", "prefix": "p-"},
            "batch_size": "7",
        }
    )
    assert s3 == BatchConfig("s3://bucket/a/b", "p-", "none", 7)
    assert s3.is_s3 and s3.bucket_and_key_prefix == ("bucket", "a/b/")
    assert parse_batch_config({"storage": {"root": "s3://bucket"}}).bucket_and_key_prefix == ("bucket", "")
    relative = parse_batch_config({"storage": {"root": "file://out/batches"}})
    assert relative.root == "file://" + os.path.abspath("out/batches")


def test_batch_config_comes_from_a_json_string_too_as_meltano_passes_objects_in_env():
    config = parse_config({"region_name": "us-east-1", "batch_config": '{"storage": {"root": "file:///tmp/b"}}'})
    assert config.batch_config == BatchConfig("file:///tmp/b")
    assert parse_config({"region_name": "us-east-1"}).batch_config is None


@pytest.mark.parametrize(
    "raw, says",
    [
        (
            {"storage": {"rot": "file:///x"}},
            "config key batch_config.storage.rot is not a batch_config key; did you mean batch_config.storage.root?",
        ),
        ({"encodnig": {}, "storage": {"root": "file:///x"}}, "did you mean batch_config.encoding?"),
        ({"bach_size": 3, "storage": {"root": "file:///x"}}, "did you mean batch_config.batch_size?"),
        ({"storage": {"root": "file:///x", "colour": 1}}, "batch_config.storage takes root, prefix, params"),
        ({"storage": "file:///x"}, "config key batch_config.storage must be an object, got str"),
        ({"storage": {"root": "s3://"}}, "names no bucket"),
        ({"storage": {"root": "/tmp/x"}}, "must start with file:// or s3://"),
        ({"storage": {"root": "file:///x", "prefix": "a/b"}}, "batch_config.storage.prefix must be a file name prefix"),
        (
            {"storage": {"root": "file:///x"}, "batch_size": "many"},
            "config key batch_config.batch_size must be a whole number",
        ),
        (
            {"storage": {"root": "file:///x"}, "encoding": {"format": "parquet"}},
            "batch_config.encoding.format must be jsonl",
        ),
    ],
)
def test_a_wrong_batch_config_field_is_one_line_naming_it(raw, says):
    with pytest.raises(TapError) as caught:
        parse_config({"region_name": "us-east-1", "batch_config": raw})
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_batch_config_json_that_does_not_parse_is_named():
    with pytest.raises(TapError, match="config key batch_config holds invalid JSON"):
        parse_config({"region_name": "us-east-1", "batch_config": "{nope"})


# ---- part names and encodings ----


def test_part_names_are_deterministic_per_stream_version_segment_and_part():
    config = _config(storage={"root": "file:///tmp/x", "prefix": "load-"})
    assert part_name(config, "orders", 17, 2, 3) == "load-orders-17-2-00003.jsonl.gz"
    assert part_name(config, "orders", 17, 2, 3) == part_name(config, "orders", 17, 2, 3)
    assert part_name(_config(encoding={"compression": "none"}), "a b/c", None, "f7", 0) == "a_b_c-0-f7-00000.jsonl"


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_a_part_holds_the_records_as_the_record_path_encodes_them_plus_the_version(tmp_path, compression):
    config = _config(f"file://{tmp_path}", encoding={"compression": compression})
    records = [
        {"id": "a", "n": exact_number("12345678901234567890123456789012345678"), "m": {"x": [1, None, "é"]}},
        {},
        {"id": "c", "f": exact_number("-0.000000000000000000000000000000000000001")},
    ]
    writer = PartWriter(config, "orders", 42, 0, 5)
    assert os.path.exists(writer.path + ".partial") and not os.path.exists(writer.path)
    assert writer.write(records[:2]) == 2 and writer.write(records[2:]) == 1
    closed = writer.close()
    assert closed == ClosedPart(
        writer.name, f"file://{tmp_path}/{writer.name}", writer.path, 3, os.path.getsize(writer.path)
    )
    assert os.listdir(tmp_path) == [writer.name]  # renamed from .partial once complete
    data = open(writer.path, "rb").read()
    text = gzip.decompress(data) if compression == "gzip" else data
    lines = text.splitlines()
    assert lines[0] == orjson.dumps(records[0])[:-1] + b',"_sdc_table_version":42}'
    parsed = [parse_message(line) for line in lines]
    assert parsed[0]["n"] == 12345678901234567890123456789012345678
    assert parsed[1] == {"_sdc_table_version": 42}
    assert parsed[2]["f"] == Decimal("-1E-39")


def test_a_part_without_a_version_holds_the_records_unchanged(tmp_path):
    writer = PartWriter(_config(f"file://{tmp_path}", encoding={"compression": "none"}), "s", None, 0, 0)
    writer.write([{"id": "a"}, {}])
    assert open(writer.close().path, "rb").read() == b'{"id":"a"}\n{}\n'


def test_an_aborted_part_leaves_nothing_and_the_writer_arguments_pickle(tmp_path):
    config = _config(f"file://{tmp_path}")
    assert pickle.loads(pickle.dumps(config)) == config  # what a worker process is handed
    writer = PartWriter(config, "s", 1, 0, 0)
    writer.write([{"id": "a"}])
    writer.abort()
    assert os.listdir(tmp_path) == []


def test_unannounced_parts_are_removed_and_announced_ones_kept(tmp_path):
    storage = BatchStorage(_config(f"file://{tmp_path}"))
    names = [part_name(storage.config, "s", 9, seg, part) for seg, part in ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1))]
    for name in [*names, names[2] + ".partial", part_name(storage.config, "s", 8, 0, 5), "other-file"]:
        (tmp_path / name).write_bytes(b"")
    announced = {"0": 2, "1": 0}
    assert storage.remove_unannounced("s", 9, lambda segment: announced[segment]) == 4
    assert sorted(os.listdir(tmp_path)) == sorted(
        [names[0], names[1], part_name(storage.config, "s", 8, 0, 5), "other-file"]
    )


def test_an_unwritable_root_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TapError, match=r"^batch_config.storage.root file://.*cannot create the directory"):
        BatchStorage(_config(f"file://{blocker}/sub")).check()
    BatchStorage(_config(f"file://{tmp_path}/new/dir")).check()
    assert os.listdir(tmp_path / "new" / "dir") == []  # the write check leaves nothing


# ---- S3 errors (botocore's stubber answers as AWS does) ----


def _s3_with(*errors: tuple[str, int]) -> S3:
    client = Session().create_client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    for code, status in errors:
        stubber.add_client_error("head_bucket", service_error_code=code, http_status_code=status)
    stubber.activate()
    return S3(client)


@pytest.mark.parametrize(
    "code, status, says",
    [
        ("404", 404, "s3://b: the bucket does not exist"),
        ("403", 403, "S3 refused the credentials (403)"),
        ("InvalidAccessKeyId", 403, "S3 refused the credentials (InvalidAccessKeyId)"),
    ],
)
def test_a_missing_bucket_or_refused_credentials_is_one_line(code, status, says):
    storage = BatchStorage(_config("s3://b/p"), lambda: _s3_with((code, status)))
    with pytest.raises(TapError) as caught:
        storage.check()
    assert says in str(caught.value) and "\n" not in str(caught.value)


# ---- the bookmark ----


def test_batch_parts_round_trip_through_the_state():
    raw = {
        "bookmarks": {
            "t": {
                "version": 5,
                "scan_segments": 3,
                "segment_keys": {"0": {"id": {"S": "k"}}},
                "batch_parts": {"0": 2, "2": 1},
            }
        }
    }
    state = State.load(raw)
    scan = state.bookmark("t").scan
    assert scan.parts_announced(0) == 2 and scan.parts_announced(1) == 0 and scan.parts_announced(2) == 1
    scan.part_announced(1)
    assert state.to_dict()["bookmarks"]["t"]["batch_parts"] == {"0": 2, "1": 1, "2": 1}
    one = Bookmark.from_dict({"last_evaluated_key": {"id": {"S": "k"}}, "batch_parts": {}})
    assert one.scan.batch_parts == {} and one.to_dict()["batch_parts"] == {}
    assert "batch_parts" not in Bookmark.from_dict({}).to_dict()


@pytest.mark.parametrize(
    "parts", [{"0": -1}, {"x": 1}, [1], {"0": True}, {"5": 1}], ids=["negative", "name", "list", "bool", "beyond"]
)
def test_a_malformed_batch_parts_bookmark_is_named(parts):
    state = State.load({"bookmarks": {"t": {"scan_segments": 2, "batch_parts": parts}}})
    with pytest.raises(TapError, match="batch_parts"):
        state.bookmark("t")


def test_the_batch_message_has_the_sdk_shape_and_counts_its_records():
    import io

    from tap_dynamodb.output.writer import MessageWriter

    out = io.BytesIO()
    writer = MessageWriter(out)
    writer.batch("orders", {"format": "jsonl", "compression": "gzip"}, ["file:///x/a.jsonl.gz"], 7, 120)
    writer.batch("orders", {"format": "jsonl", "compression": "none"}, ["s3://b/a.jsonl"], None, 3)
    writer.flush()
    first, second = (orjson.loads(line) for line in out.getvalue().splitlines())
    assert first == {
        "type": "BATCH",
        "stream": "orders",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": ["file:///x/a.jsonl.gz"],
        "version": 7,
    }
    assert "version" not in second and writer.records_written == 123


class _FakeS3:
    """list_keys/delete_keys/upload_file of aws.api.S3 over a dict (what BatchStorage calls on S3)."""

    def __init__(self, keys=(), fail: bool = False):
        self.objects = dict.fromkeys(keys, b"")
        self.fail = fail

    def list_keys(self, bucket: str, prefix: str) -> list:
        if self.fail:
            raise RuntimeError("AccessDenied: s3:ListBucket")
        return [key for key in self.objects if key.startswith(prefix)]

    def delete_keys(self, bucket: str, keys: list) -> None:
        for key in keys:
            del self.objects[key]

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        self.objects[key] = open(path, "rb").read()


def test_s3_parts_are_staged_uploaded_and_unannounced_ones_removed(caplog):
    config = _config("s3://b/pre/fix", storage={"root": "s3://b/pre/fix", "prefix": "n-"})
    s3 = _FakeS3()
    storage = BatchStorage(config, lambda: s3)
    writer = storage.open_part("s", 3, 1, 0)
    assert writer.path.startswith(storage.staging_dir)
    writer.write([{"id": "a"}])
    url = storage.publish(writer.close())
    assert url == "s3://b/pre/fix/n-s-3-1-00000.jsonl.gz" and not os.path.exists(writer.path)
    assert gzip.decompress(s3.objects["pre/fix/n-s-3-1-00000.jsonl.gz"]) == b'{"id":"a","_sdc_table_version":3}\n'
    s3.objects.update({"pre/fix/n-s-3-1-00001.jsonl.gz": b"", "pre/fix/n-s-3-0-00000.jsonl.gz.partial": b""})
    assert storage.remove_unannounced("s", 3, lambda segment: 1) == 2
    assert list(s3.objects) == ["pre/fix/n-s-3-1-00000.jsonl.gz"]
    staging = storage.staging_dir
    storage.close()
    assert not os.path.exists(staging)

    refused = BatchStorage(config, lambda: _FakeS3(fail=True))
    assert refused.remove_unannounced("s", 3, lambda segment: 0) == 0
    assert "Could not remove the batch files of s" in caplog.text and "s3:ListBucket" in caplog.text
