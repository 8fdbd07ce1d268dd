"""The test harness itself works against DynamoDB Local (no tap code needed)."""

from tests import helpers


def test_make_table_writes_items_and_scan_returns_them(ddb, make_table):
    items = [{"id": {"S": f"item-{i:03d}"}, "n": {"N": str(i)}} for i in range(60)]
    name = make_table(items=items, name_prefix="harness")

    assert name.startswith("harness_")
    scanned = helpers.scan_all(ddb, name)
    assert sorted(i["id"]["S"] for i in scanned) == sorted(i["id"]["S"] for i in items)
    assert {i["id"]["S"]: i["n"]["N"] for i in scanned}["item-042"] == "42"
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "LatestStreamArn" not in table


def test_make_table_with_range_key_and_stream(ddb, streams_client, make_table):
    name = make_table(
        hash_key=("pk", "S"),
        range_key=("sk", "N"),
        stream="NEW_AND_OLD_IMAGES",
        items=[{"pk": {"S": "a"}, "sk": {"N": "1"}}],
    )

    table = ddb.describe_table(TableName=name)["Table"]
    assert [k["KeyType"] for k in table["KeySchema"]] == ["HASH", "RANGE"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    arn = table["LatestStreamArn"]
    stream = streams_client.describe_stream(StreamArn=arn)["StreamDescription"]
    assert stream["TableName"] == name
    assert stream["Shards"], "a stream-enabled table with writes has at least one shard"


def test_tables_are_unique_and_removed_after_the_test(ddb, make_table):
    a, b = make_table(), make_table()
    assert a != b
    assert {a, b} <= set(ddb.list_tables()["TableNames"])
