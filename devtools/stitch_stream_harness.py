"""Stitch's tap-dynamodb 1.4.0 LOG_BASED record path, driven on DynamoDB Local's open shard.

Stitch reads closed shards only, and DynamoDB Local never closes its shard, so Stitch's own
LOG_BASED sync reads nothing there. This harness calls Stitch's `sync_shard` (its GetRecords
loop, Decimal deserializer, one flushed RECORD per change, a STATE every 100) on every shard,
through a streams client whose GetRecords reports the tip of an open shard the way a closed
shard's end is reported (no NextShardIterator), so the loop ends. Everything per record is
Stitch's code.

Runs with the Python of Stitch's venv (devtools.bench does this), as a script so that
`tap_dynamodb` is Stitch's package, not ours:

    .bench-cache/stitch-venv/bin/python devtools/stitch_stream_harness.py TABLE

Stitch's clients talk to http://localhost:8000 (`use_local_dynamo`). Prints `Stitch rows N`
on stderr.
"""

import sys

from tap_dynamodb import dynamodb
from tap_dynamodb.deserialize import Deserializer
from tap_dynamodb.sync_strategies import log_based


class StopAtTip:
    """Wraps a streams client: an empty GetRecords page ends the shard, as on a closed shard."""

    def __init__(self, client):
        self._client = client

    def get_records(self, **params):
        answer = self._client.get_records(**params)
        if not answer["Records"]:
            answer.pop("NextShardIterator", None)
        return answer

    def __getattr__(self, name):
        return getattr(self._client, name)


def main(table: str) -> int:
    config = {"use_local_dynamo": True, "region_name": "us-east-1"}
    client = dynamodb.get_client(config)
    streams = StopAtTip(dynamodb.get_stream_client(config))
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    state, rows = {}, 0
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        rows += log_based.sync_shard(shard, {}, streams, arn, None, Deserializer(), table, 1, state)
    print(f"Stitch rows {rows}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
