"""The baselines of `make bench`: plain boto3 loops that only fetch pages and count items.

Run as a child process by devtools.bench so that its CPU time and peak memory are measured
on their own. This is the least any boto3-based extractor pays: botocore's parsing of every
attribute value, and nothing else (no decoding, no output).

    python -m devtools.bare_loops scan ENDPOINT TABLE
    python -m devtools.bare_loops stream ENDPOINT TABLE

Each prints `items N` on stderr.
"""

from __future__ import annotations

import sys

import boto3

PAGE_LIMIT = 1000


def _client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def scan_count(endpoint: str, table: str) -> int:
    """Fetch every Scan page of the table (Limit 1000) and count the items."""
    client = _client("dynamodb", endpoint)
    params = {"TableName": table, "Limit": PAGE_LIMIT}
    count = 0
    while True:
        page = client.scan(**params)
        count += len(page["Items"])
        last = page.get("LastEvaluatedKey")
        if not last:
            return count
        params["ExclusiveStartKey"] = last


def stream_count(endpoint: str, table: str) -> int:
    """Fetch every GetRecords page of every shard of the table's stream, from TRIM_HORIZON to the tip."""
    streams = _client("dynamodbstreams", endpoint)
    arn = _client("dynamodb", endpoint).describe_table(TableName=table)["Table"]["LatestStreamArn"]
    count = 0
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=PAGE_LIMIT)
            if not page["Records"]:
                break  # the tip of an open shard: DynamoDB Local never closes one
            count += len(page["Records"])
            iterator = page.get("NextShardIterator")
    return count


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in ("scan", "stream"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, endpoint, table = args
    count = (scan_count if mode == "scan" else stream_count)(endpoint, table)
    print(f"items {count}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
