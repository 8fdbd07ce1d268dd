"""The export control-plane double (devtools/export_double.py) against AWS's documented contract.

Only plain boto3 is used here (no tap code): a ``dynamodb`` client whose endpoint is the double, and
the S3 server's client to read what the export wrote. The tap's export tests stand on these facts.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import zlib
from datetime import timedelta
from typing import Any

import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.dynamodb_local import LOCAL_CREDENTIALS

EXPORT_ARN_RE = re.compile(r"^arn:aws:dynamodb:[^:]+:\d+:table/[^/]+/export/\d{14}-[0-9a-f]{8}$")
DATA_FILE_RE = re.compile(r"/data/[a-z2-7]{26}\.(json|ion)\.gz$")


def _client(double, service: str = "dynamodb"):
    import boto3

    return boto3.session.Session().client(
        service,
        endpoint_url=double.endpoint_url,
        config=Config(retries={"max_attempts": 1}),
        **LOCAL_CREDENTIALS,
    )


def _error_code(exc_info) -> str:
    return str(exc_info.value.response["Error"]["Code"])


def _table_arn(ddb, name: str) -> str:
    return str(ddb.describe_table(TableName=name)["Table"]["TableArn"])


def _finish(ddb, arn: str, max_polls: int = 2000) -> tuple[list[str], dict[str, Any]]:
    """Poll DescribeExport until the export leaves IN_PROGRESS; the statuses seen and the last description."""
    seen: list[str] = []
    for _ in range(max_polls):
        desc = ddb.describe_export(ExportArn=arn)["ExportDescription"]
        seen.append(desc["ExportStatus"])
        if desc["ExportStatus"] != "IN_PROGRESS":
            return seen, desc
    raise AssertionError(f"export {arn} still IN_PROGRESS after {max_polls} polls")


def _read_export(s3, desc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], list[list[Any]]]:
    """The summary, the manifest-files entries and each data file's lines, checking md5/etag/counts."""
    bucket = desc["S3Bucket"]
    summary = orjson.loads(s3.get_object(Bucket=bucket, Key=desc["ExportManifest"])["Body"].read())
    raw = s3.get_object(Bucket=bucket, Key=summary["manifestFilesS3Key"])["Body"].read()
    files = [orjson.loads(line) for line in raw.splitlines() if line.strip()]
    contents = []
    for entry in files:
        got = s3.get_object(Bucket=bucket, Key=entry["dataFileS3Key"])
        body = got["Body"].read()
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(body).digest()).decode()
        assert entry["etag"] == got["ETag"].strip('"')
        lines = gzip.decompress(body).splitlines()
        assert len(lines) == entry["itemCount"]
        contents.append([orjson.loads(line) for line in lines])
    return summary, files, contents


def _export(ddb, table_arn: str, bucket: str, **kwargs: Any) -> str:
    return str(
        ddb.export_table_to_point_in_time(TableArn=table_arn, S3Bucket=bucket, **kwargs)["ExportDescription"][
            "ExportArn"
        ]
    )


def _items(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": {"S": f"k{i:03d}"},
            "n": {"N": str(i)},
            "blob": {"B": bytes([i % 256, 0, 255])},
            "tags": {"SS": ["a", f"t{i}"]},
            "doc": {"M": {"deep": {"L": [{"BOOL": True}, {"NULL": True}]}}},
        }
        for i in range(n)
    ]


def _wire(value: Any) -> Any:
    """boto3's item (B as bytes) in wire form (B as base64), as export lines carry it."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


# --------------------------------------------------------------------------
# PITR and the documented errors
# --------------------------------------------------------------------------


def test_pitr_is_off_until_enabled_and_export_needs_it(export_double, make_table, s3_bucket):
    ddb = _client(export_double)
    name = make_table(items=_items(3))
    arn = _table_arn(ddb, name)
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    with pytest.raises(ClientError) as err:
        _export(ddb, arn, s3_bucket)
    assert _error_code(err) == "PointInTimeRecoveryUnavailableException"
    assert name in err.value.response["Error"]["Message"]

    answer = ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert answer["PointInTimeRecoveryStatus"] == "ENABLED"
    now = export_double.now()
    assert answer["EarliestRestorableDateTime"] <= answer["LatestRestorableDateTime"]
    assert abs((answer["LatestRestorableDateTime"] - now).total_seconds()) < 5

    export_double.restorable_lag = 300
    later = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    latest = later["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]
    assert abs((latest - (now - timedelta(seconds=300))).total_seconds()) < 5
    assert [op for op, _ in export_double.requests] == [
        "DescribeContinuousBackups",
        "ExportTableToPointInTime",
        "UpdateContinuousBackups",
        "DescribeContinuousBackups",
    ]


def test_documented_errors(export_double, make_table, s3_bucket):
    ddb = _client(export_double)
    name = make_table(items=_items(2))
    arn = _table_arn(ddb, name)
    export_double.enable_pitr(name)
    missing = arn.replace(name, "no_such_table_here")
    with pytest.raises(ClientError) as err:
        _export(ddb, missing, s3_bucket)
    assert _error_code(err) == "TableNotFoundException"
    with pytest.raises(ClientError) as err:
        ddb.describe_continuous_backups(TableName="no_such_table_here")
    assert _error_code(err) == "TableNotFoundException"
    with pytest.raises(ClientError) as err:
        ddb.describe_export(ExportArn=arn + "/export/01700000000000-deadbeef")
    assert _error_code(err) == "ExportNotFoundException"
    for bad_time in (export_double.now() + timedelta(hours=1), export_double.now() - timedelta(days=1)):
        with pytest.raises(ClientError) as err:
            _export(ddb, arn, s3_bucket, ExportTime=bad_time)
        assert _error_code(err) == "InvalidExportTimeException"


# --------------------------------------------------------------------------
# Full exports
# --------------------------------------------------------------------------


def test_full_export_has_aws_layout_and_manifests(export_double, make_table, s3_server, s3_bucket, ddb):
    export_double.partitions = 4
    export_double.items_per_file = 7
    items = _items(60)
    name = make_table(items=items)
    client = _client(export_double)
    arn = _table_arn(client, name)
    export_double.enable_pitr(name)

    first = client.export_table_to_point_in_time(TableArn=arn, S3Bucket=s3_bucket, S3Prefix="exports/run1")
    desc = first["ExportDescription"]
    assert desc["ExportStatus"] == "IN_PROGRESS"
    assert EXPORT_ARN_RE.match(desc["ExportArn"]), desc["ExportArn"]
    assert desc["ExportArn"].startswith(arn + "/export/")
    seen, desc = _finish(client, desc["ExportArn"])
    assert seen[0] == "IN_PROGRESS" and seen[-1] == "COMPLETED"
    export_id = desc["ExportArn"].rsplit("/", 1)[1]
    folder = f"exports/run1/AWSDynamoDB/{export_id}"
    assert desc["ExportManifest"] == f"{folder}/manifest-summary.json"
    assert desc["ItemCount"] == 60
    assert desc["ExportFormat"] == "DYNAMODB_JSON" and desc["ExportType"] == "FULL_EXPORT"
    assert desc["StartTime"] <= desc["EndTime"] and desc["ExportTime"] <= desc["EndTime"]
    for key in ("TableArn", "TableId", "S3Bucket", "S3Prefix", "ClientToken", "BilledSizeBytes"):
        assert desc.get(key), key

    s3 = s3_server.client()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="exports/run1/")["Contents"]}
    for name_ in (
        "_started",
        "manifest-summary.json",
        "manifest-summary.checksum",
        "manifest-files.json",
        "manifest-files.checksum",
    ):
        assert f"{folder}/{name_}" in keys
    summary, files, contents = _read_export(s3, desc)
    assert summary["version"] == "2020-06-30"
    assert summary["exportArn"] == desc["ExportArn"] and summary["itemCount"] == 60
    assert summary["outputFormat"] == "DYNAMODB_JSON" and summary["s3Prefix"] == "exports/run1"
    assert summary["tableArn"] == arn and summary["tableId"] == desc["TableId"]
    checksum = s3.get_object(Bucket=s3_bucket, Key=f"{folder}/manifest-files.checksum")["Body"].read().decode()
    manifest_raw = s3.get_object(Bucket=s3_bucket, Key=f"{folder}/manifest-files.json")["Body"].read()
    assert checksum == hashlib.md5(manifest_raw).hexdigest()
    assert len(files) >= 60 // 7 + 1 and all(DATA_FILE_RE.search(f["dataFileS3Key"]) for f in files)
    assert all(f["dataFileS3Key"].startswith(f"{folder}/data/") for f in files)
    assert all(f["itemCount"] <= 7 for f in files)
    exported = [line["Item"] for lines in contents for line in lines]
    by_id = {item["id"]["S"]: item for item in exported}
    assert len(exported) == 60 and len(by_id) == 60
    assert by_id == {item["id"]["S"]: _wire(item) for item in ddb.scan(TableName=name)["Items"]}
    assert by_id["k001"]["blob"] == {"B": base64.b64encode(bytes([1, 0, 255])).decode()}


def test_an_empty_partition_still_gets_its_file(export_double, make_table, s3_server, s3_bucket):
    export_double.partitions = 4
    name = make_table(items=_items(1))
    client = _client(export_double)
    export_double.enable_pitr(name)
    _, desc = _finish(client, _export(client, _table_arn(client, name), s3_bucket))
    _, files, contents = _read_export(s3_server.client(), desc)
    assert len(files) == 4
    assert sorted(f["itemCount"] for f in files) == [0, 0, 0, 1]
    assert sum(len(lines) for lines in contents) == 1


def test_export_time_in_the_past_undoes_later_writes(export_double, make_table, s3_server, s3_bucket):
    client = _client(export_double)
    name = make_table()
    export_double.enable_pitr(name)
    for key in ("a", "b", "d"):
        client.put_item(TableName=name, Item={"id": {"S": key}, "v": {"N": "1"}})
    export_double.advance_clock(60)
    then = export_double.now()
    export_double.advance_clock(60)
    client.update_item(
        TableName=name,
        Key={"id": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    client.delete_item(TableName=name, Key={"id": {"S": "b"}})
    client.put_item(TableName=name, Item={"id": {"S": "c"}, "v": {"N": "3"}})
    client.batch_write_item(RequestItems={name: [{"DeleteRequest": {"Key": {"id": {"S": "d"}}}}]})
    arn = _table_arn(client, name)

    _, past = _finish(client, _export(client, arn, s3_bucket, ExportTime=then))
    _, _, contents = _read_export(s3_server.client(), past)
    assert sorted((i["Item"]["id"]["S"], i["Item"]["v"]["N"]) for lines in contents for i in lines) == [
        ("a", "1"),
        ("b", "1"),
        ("d", "1"),
    ]
    _, now = _finish(client, _export(client, arn, s3_bucket))
    _, _, contents = _read_export(s3_server.client(), now)
    assert sorted((i["Item"]["id"]["S"], i["Item"]["v"]["N"]) for lines in contents for i in lines) == [
        ("a", "2"),
        ("c", "3"),
    ]
    assert len(export_double.writes(name)) == 7


def test_composite_keys_at_a_past_time(export_double, make_table, s3_server, s3_bucket):
    """Hash + range keys (a number hash key): the journal and the undo work per full key."""
    client = _client(export_double)
    name = make_table(hash_key=("pk", "N"), range_key=("sk", "S"))
    export_double.enable_pitr(name)
    for sk in ("x", "y"):
        client.put_item(TableName=name, Item={"pk": {"N": "7"}, "sk": {"S": sk}, "v": {"S": "old"}})
    export_double.advance_clock(60)
    then = export_double.now()
    export_double.advance_clock(60)
    client.put_item(TableName=name, Item={"pk": {"N": "7"}, "sk": {"S": "x"}, "v": {"S": "new"}})
    client.delete_item(TableName=name, Key={"pk": {"N": "7"}, "sk": {"S": "y"}})
    _, desc = _finish(client, _export(client, _table_arn(client, name), s3_bucket, ExportTime=then))
    _, _, contents = _read_export(s3_server.client(), desc)
    assert sorted((i["Item"]["sk"]["S"], i["Item"]["v"]["S"]) for lines in contents for i in lines) == [
        ("x", "old"),
        ("y", "old"),
    ]


def test_ion_export_is_readable_with_amazon_ion(export_double, make_table, s3_server, s3_bucket):
    from amazon.ion import simpleion

    name = make_table(items=_items(5))
    client = _client(export_double)
    export_double.enable_pitr(name)
    _, desc = _finish(client, _export(client, _table_arn(client, name), s3_bucket, ExportFormat="ION"))
    assert desc["ExportFormat"] == "ION"
    s3 = s3_server.client()
    summary = orjson.loads(s3.get_object(Bucket=s3_bucket, Key=desc["ExportManifest"])["Body"].read())
    assert summary["outputFormat"] == "ION"
    raw = s3.get_object(Bucket=s3_bucket, Key=summary["manifestFilesS3Key"])["Body"].read()
    values = []
    for entry in (orjson.loads(line) for line in raw.splitlines()):
        assert entry["dataFileS3Key"].endswith(".ion.gz")
        text = gzip.decompress(s3.get_object(Bucket=s3_bucket, Key=entry["dataFileS3Key"])["Body"].read())
        lines = text.splitlines()
        assert len(lines) == entry["itemCount"]
        assert all(line.startswith(b"$ion_1_0 {Item:{") for line in lines)
        values += [simpleion.loads(line.decode()) for line in lines]
    by_id = {v["Item"]["id"]: v["Item"] for v in values}
    assert sorted(by_id) == [f"k{i:03d}" for i in range(5)]
    assert by_id["k002"]["n"] == 2 and bytes(by_id["k002"]["blob"]) == bytes([2, 0, 255])
    assert by_id["k002"]["tags"].ion_annotations[0].text == "$dynamodb_SS"


# --------------------------------------------------------------------------
# Incremental exports
# --------------------------------------------------------------------------


def _incremental_setup(export_double, make_table):
    client = _client(export_double)
    name = make_table()
    export_double.enable_pitr(name)
    client.put_item(TableName=name, Item={"id": {"S": "a"}, "v": {"N": "0"}})
    client.put_item(TableName=name, Item={"id": {"S": "d"}, "v": {"N": "0"}})
    export_double.advance_clock(60)
    start = export_double.now()
    client.put_item(TableName=name, Item={"id": {"S": "a"}, "v": {"N": "1"}})
    client.put_item(TableName=name, Item={"id": {"S": "b"}, "v": {"N": "1"}})
    client.put_item(TableName=name, Item={"id": {"S": "c"}, "v": {"N": "1"}})
    client.delete_item(TableName=name, Key={"id": {"S": "c"}})
    client.delete_item(TableName=name, Key={"id": {"S": "d"}})
    client.put_item(TableName=name, Item={"id": {"S": "a"}, "v": {"N": "2"}})
    export_double.advance_clock(20 * 60)
    end = export_double.now() - timedelta(seconds=5)
    client.put_item(TableName=name, Item={"id": {"S": "after"}, "v": {"N": "9"}})
    return client, name, start, end


def test_incremental_export_compacts_changes_per_key(export_double, make_table, s3_server, s3_bucket):
    client, name, start, end = _incremental_setup(export_double, make_table)
    arn = _table_arn(client, name)
    spec = {"ExportFromTime": start, "ExportToTime": end, "ExportViewType": "NEW_AND_OLD_IMAGES"}
    _, desc = _finish(
        client, _export(client, arn, s3_bucket, ExportType="INCREMENTAL_EXPORT", IncrementalExportSpecification=spec)
    )
    assert desc["ExportStatus"] == "COMPLETED" and desc["ExportType"] == "INCREMENTAL_EXPORT"
    assert desc["IncrementalExportSpecification"]["ExportViewType"] == "NEW_AND_OLD_IMAGES"
    summary, files, contents = _read_export(s3_server.client(), desc)
    assert summary["exportType"] == "INCREMENTAL_EXPORT" and summary["outputView"] == "NEW_AND_OLD_IMAGES"
    assert summary["exportFromTime"] and summary["exportToTime"] and summary["itemCount"] == 3
    assert len(files) == export_double.partitions
    lines = {line["Keys"]["id"]["S"]: line for chunk in contents for line in chunk}
    assert sorted(lines) == ["a", "b", "d"]  # c was created and deleted inside the window; "after" is outside
    assert lines["a"]["NewImage"]["v"] == {"N": "2"} and lines["a"]["OldImage"]["v"] == {"N": "0"}
    assert lines["b"]["NewImage"]["v"] == {"N": "1"} and "OldImage" not in lines["b"]
    assert "NewImage" not in lines["d"] and lines["d"]["OldImage"]["v"] == {"N": "0"}
    last_write = {}
    for write in export_double.writes(name):
        last_write.setdefault(write.key["id"]["S"], []).append(write.micros)
    assert int(lines["a"]["Metadata"]["WriteTimestampMicros"]["N"]) == last_write["a"][-1]
    assert int(lines["d"]["Metadata"]["WriteTimestampMicros"]["N"]) == last_write["d"][-1]

    spec["ExportViewType"] = "NEW_IMAGE"
    _, desc = _finish(
        client, _export(client, arn, s3_bucket, ExportType="INCREMENTAL_EXPORT", IncrementalExportSpecification=spec)
    )
    _, _, contents = _read_export(s3_server.client(), desc)
    lines = {line["Keys"]["id"]["S"]: line for chunk in contents for line in chunk}
    assert sorted(lines) == ["a", "b", "d"]
    assert not any("OldImage" in line for line in lines.values())
    assert set(lines["d"]) == {"Metadata", "Keys"}

    from amazon.ion import simpleion

    _, desc = _finish(
        client,
        _export(
            client,
            arn,
            s3_bucket,
            ExportType="INCREMENTAL_EXPORT",
            IncrementalExportSpecification=spec,
            ExportFormat="ION",
        ),
    )
    s3 = s3_server.client()
    summary = orjson.loads(s3.get_object(Bucket=s3_bucket, Key=desc["ExportManifest"])["Body"].read())
    raw = s3.get_object(Bucket=s3_bucket, Key=summary["manifestFilesS3Key"])["Body"].read()
    ion_lines = []
    for entry in (orjson.loads(line) for line in raw.splitlines()):
        text = gzip.decompress(s3.get_object(Bucket=s3_bucket, Key=entry["dataFileS3Key"])["Body"].read())
        ion_lines += [simpleion.loads(line.decode()) for line in text.splitlines()]
    by_key = {line["Keys"]["id"]: line for line in ion_lines}
    assert sorted(by_key) == ["a", "b", "d"] and by_key["a"]["NewImage"]["v"] == 2
    assert by_key["a"]["Metadata"]["WriteTimestampMicros"] == last_write["a"][-1]


def test_incremental_window_limits(export_double, make_table, s3_bucket):
    client, name, start, end = _incremental_setup(export_double, make_table)
    arn = _table_arn(client, name)

    def attempt(low, high):
        with pytest.raises(ClientError) as err:
            _export(
                client,
                arn,
                s3_bucket,
                ExportType="INCREMENTAL_EXPORT",
                IncrementalExportSpecification={"ExportFromTime": low, "ExportToTime": high},
            )
        return _error_code(err)

    assert attempt(start, start + timedelta(minutes=14)) == "ValidationException"
    assert attempt(start - timedelta(hours=25), start) == "ValidationException"
    assert attempt(start - timedelta(hours=2), start - timedelta(hours=1)) == "InvalidExportTimeException"
    assert attempt(end, end + timedelta(minutes=30)) == "InvalidExportTimeException"
    export_double.restorable_lag = 600  # LatestRestorableDateTime 10 minutes behind: the window ends there
    assert attempt(end - timedelta(minutes=20), end) == "InvalidExportTimeException"


# --------------------------------------------------------------------------
# Idempotence, listing, failure, corruption
# --------------------------------------------------------------------------


def test_client_token_gives_the_same_export_or_a_conflict(export_double, make_table, s3_bucket):
    name = make_table(items=_items(2))
    client = _client(export_double)
    arn = _table_arn(client, name)
    export_double.enable_pitr(name)
    export_double.advance_clock(10)
    when = export_double.now() - timedelta(seconds=2)
    first = _export(client, arn, s3_bucket, ExportTime=when, ClientToken="token-1")
    again = _export(client, arn, s3_bucket, ExportTime=when, ClientToken="token-1")
    assert again == first
    with pytest.raises(ClientError) as err:
        _export(client, arn, s3_bucket, ExportTime=when, ClientToken="token-1", S3Prefix="elsewhere")
    assert _error_code(err) == "ExportConflictException"
    assert [s["ExportArn"] for s in client.list_exports(TableArn=arn)["ExportSummaries"]] == [first]


def test_list_exports_pages_and_filters_by_table(export_double, make_table, s3_bucket):
    client = _client(export_double)
    one, other = make_table(items=_items(1)), make_table(items=_items(1))
    for name in (one, other):
        export_double.enable_pitr(name)
    arns = [_export(client, _table_arn(client, one), s3_bucket) for _ in range(3)]
    _export(client, _table_arn(client, other), s3_bucket)
    page = client.list_exports(TableArn=_table_arn(client, one), MaxResults=2)
    assert len(page["ExportSummaries"]) == 2 and page.get("NextToken")
    rest = client.list_exports(TableArn=_table_arn(client, one), MaxResults=2, NextToken=page["NextToken"])
    assert "NextToken" not in rest
    listed = page["ExportSummaries"] + rest["ExportSummaries"]
    assert sorted(s["ExportArn"] for s in listed) == sorted(arns)
    assert {s["ExportType"] for s in listed} == {"FULL_EXPORT"}
    assert len(client.list_exports()["ExportSummaries"]) == 4
    with pytest.raises(ClientError) as err:
        client.list_exports(MaxResults=26)
    assert _error_code(err) == "ValidationException"


def test_failed_export_through_the_hook(export_double, make_table, s3_bucket):
    name = make_table(items=_items(2))
    client = _client(export_double)
    export_double.enable_pitr(name)
    export_double.fail_next_export("S3AccessDenied", "Access denied to the bucket")
    seen, desc = _finish(client, _export(client, _table_arn(client, name), s3_bucket))
    assert seen[-1] == "FAILED"
    assert desc["FailureCode"] == "S3AccessDenied" and desc["FailureMessage"] == "Access denied to the bucket"
    assert "ExportManifest" not in desc
    _, desc = _finish(client, _export(client, _table_arn(client, name), s3_bucket))
    assert desc["ExportStatus"] == "COMPLETED"  # only the next one fails


def test_missing_bucket_fails_the_export(export_double, make_table):
    name = make_table(items=_items(1))
    client = _client(export_double)
    export_double.enable_pitr(name)
    _, desc = _finish(client, _export(client, _table_arn(client, name), "no-such-bucket-for-exports"))
    assert desc["ExportStatus"] == "FAILED" and desc["FailureCode"].startswith("S3")


@pytest.mark.parametrize("how", ["count", "md5", "truncate", "missing"])
def test_corrupt_hook_breaks_what_a_reader_checks(export_double, make_table, s3_server, s3_bucket, how):
    name = make_table(items=_items(20))
    client = _client(export_double)
    export_double.enable_pitr(name)
    _, desc = _finish(client, _export(client, _table_arn(client, name), s3_bucket))
    _read_export(s3_server.client(), desc)  # intact first
    export_double.corrupt(desc["ExportArn"], how)
    with pytest.raises((AssertionError, EOFError, OSError, zlib.error, ClientError)):
        _read_export(s3_server.client(), desc)


# --------------------------------------------------------------------------
# Streams: retention and pass-through
# --------------------------------------------------------------------------


def _stream_records(streams, stream_arn: str, **iterator_args: Any) -> list[dict[str, Any]]:
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    records = []
    for shard in shards:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], **iterator_args)[
            "ShardIterator"
        ]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            if not page["Records"]:
                break
            records += page["Records"]
            iterator = page.get("NextShardIterator")
    return records


def test_clock_past_retention_trims_the_stream(export_double, make_table):
    client = _client(export_double)
    streams = _client(export_double, "dynamodbstreams")
    name = make_table(stream="NEW_AND_OLD_IMAGES")
    for key in ("a", "b"):
        client.put_item(TableName=name, Item={"id": {"S": key}})
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    old = _stream_records(streams, stream_arn, ShardIteratorType="TRIM_HORIZON")
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in old] == ["a", "b"]
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]

    export_double.advance_clock(3600)  # within retention: nothing trimmed
    streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=shard_id,
        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        SequenceNumber=old[0]["dynamodb"]["SequenceNumber"],
    )
    export_double.advance_clock(24 * 3600)
    with pytest.raises(ClientError) as err:
        streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=old[0]["dynamodb"]["SequenceNumber"],
        )
    assert _error_code(err) == "TrimmedDataAccessException"
    client.put_item(TableName=name, Item={"id": {"S": "c"}})
    fresh = _stream_records(streams, stream_arn, ShardIteratorType="TRIM_HORIZON")
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in fresh] == ["c"]
    # Record times follow the double's clock (DynamoDB Local's are real time, to the minute).
    created = fresh[0]["dynamodb"]["ApproximateCreationDateTime"]
    assert abs((created - export_double.now()).total_seconds()) < 120


def test_age_out_streams_trims_everything_so_far(export_double, make_table):
    client = _client(export_double)
    streams = _client(export_double, "dynamodbstreams")
    name = make_table(stream="NEW_IMAGE")
    client.put_item(TableName=name, Item={"id": {"S": "a"}})
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    (record,) = _stream_records(streams, stream_arn, ShardIteratorType="TRIM_HORIZON")
    export_double.age_out_streams()
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with pytest.raises(ClientError) as err:
        streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=record["dynamodb"]["SequenceNumber"],
        )
    assert _error_code(err) == "TrimmedDataAccessException"
    assert _stream_records(streams, stream_arn, ShardIteratorType="TRIM_HORIZON") == []


def test_ordinary_calls_pass_through_unchanged(export_double, make_table, ddb, streams_client):
    client = _client(export_double)
    streams = _client(export_double, "dynamodbstreams")
    name = make_table(stream="NEW_AND_OLD_IMAGES", items=_items(12))
    client.put_item(TableName=name, Item={"id": {"S": "zz"}, "n": {"N": "1.50"}})
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"id": {"S": "tx"}}}},
            {"Delete": {"TableName": name, "Key": {"id": {"S": "k000"}}}},
        ]
    )
    assert client.scan(TableName=name)["Items"] == ddb.scan(TableName=name)["Items"]
    assert client.get_item(TableName=name, Key={"id": {"S": "zz"}})["Item"]["n"] == {"N": "1.5"}
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    assert (
        streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        == streams_client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    )
    via_double = _stream_records(streams, stream_arn, ShardIteratorType="TRIM_HORIZON")
    direct = _stream_records(streams_client, stream_arn, ShardIteratorType="TRIM_HORIZON")
    assert [r["dynamodb"]["SequenceNumber"] for r in via_double] == [r["dynamodb"]["SequenceNumber"] for r in direct]
    assert len(direct) == 15
    with pytest.raises(ClientError) as err:
        client.get_item(TableName="no_such_table_here", Key={"id": {"S": "x"}})
    assert _error_code(err) == "ResourceNotFoundException"
    assert [w.key["id"]["S"] for w in export_double.writes(name)] == ["zz", "tx", "k000"]
    assert export_double.requests == []  # none of these was the double's own


def test_on_request_hook_acts_at_the_first_poll(export_double, make_table, s3_bucket):
    """A test can move the clock while an export is in progress (the 24-hour bridge needs that)."""
    name = make_table(items=_items(1))
    client = _client(export_double)
    export_double.enable_pitr(name)
    before = export_double.now()
    moved = []

    def on_request(operation, params):
        if operation == "DescribeExport" and not moved:
            export_double.advance_clock(25 * 3600)
            moved.append(params["ExportArn"])

    export_double.on_request = on_request
    _, desc = _finish(client, _export(client, _table_arn(client, name), s3_bucket))
    assert moved == [desc["ExportArn"]]
    assert (export_double.now() - before) > timedelta(hours=25)
    assert desc["ExportTime"] < before + timedelta(minutes=5)


def test_the_tap_replicates_through_the_double_and_sees_an_aged_out_stream(
    export_double, make_table, tap_config, run_tap, select_streams
):
    """The tap's own clients (retries, timeouts, keep-alive) work through the double, and a clock moved
    past the retention looks to the tap like an aged-out stream on AWS: it re-reads the table."""
    client = _client(export_double)
    name = make_table(stream="NEW_AND_OLD_IMAGES", items=_items(3))
    config = tap_config.with_(endpoint_url=export_double.endpoint_url, tables=[name])
    catalog = select_streams(run_tap("--discover", config=config.path).catalog, name, method="LOG_BASED")
    first = run_tap(config=config.path, catalog=catalog)
    assert sorted(r["id"] for r in first.records(name)) == ["k000", "k001", "k002"]

    client.put_item(TableName=name, Item={"id": {"S": "new"}})
    second = run_tap(config=config.path, catalog=catalog, state=first.last_state)
    assert [r["id"] for r in second.records(name)] == ["new"]

    export_double.advance_clock(25 * 3600)
    client.put_item(TableName=name, Item={"id": {"S": "later"}})
    third = run_tap(config=config.path, catalog=catalog, state=second.last_state)
    assert sorted(r["id"] for r in third.records(name)) == ["k000", "k001", "k002", "later", "new"]
    assert "trim" in third.stderr.lower() or "aged" in third.stderr.lower()
