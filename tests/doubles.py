"""Test doubles for AWS APIs that DynamoDB Local cannot drive into every state.

FakeStreamsClient is a TEST DOUBLE of the DynamoDB Streams API (not AWS, not DynamoDB Local).
DynamoDB Local has one open shard per table that never closes, splits, trims or expires, so
the shard-tree logic is exercised against this in-memory model instead. It follows the
contract of the real API (DynamoDB Streams API reference: DescribeStream, GetShardIterator,
GetRecords):

- DescribeStream(StreamArn, ExclusiveStartShardId, Limit) lists at most Limit shards (default
  100) in the double's listing order, continuing after ExclusiveStartShardId, with
  LastEvaluatedShardId when more follow. Each shard has ShardId, ParentShardId (when it has a
  parent) and SequenceNumberRange {StartingSequenceNumber, EndingSequenceNumber once closed}.
- GetShardIterator types TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER; a
  position before the trim horizon raises TrimmedDataAccessException; an unknown shard raises
  ResourceNotFoundException.
- GetRecords(ShardIterator, Limit) returns up to Limit records (1..1000) after the iterator's
  position and a NextShardIterator; at the tip of an open shard an empty page with a
  NextShardIterator; for a closed shard NextShardIterator is absent once its last record has
  been returned. A shard may be configured to give empty pages before its first records (as a
  young shard does). Iterators can be expired (ExpiredIteratorException); reading records
  that were trimmed after the iterator was issued raises TrimmedDataAccessException.
Errors are botocore ClientErrors with the real error codes. Sequence numbers are 21-digit
decimal strings that increase across the stream. Every call is logged in `calls`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Optional

from botocore.exceptions import ClientError

DEFAULT_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/fake/stream/2026-01-01T00:00:00.000"
# The userIdentity of a REMOVE made by DynamoDB's Time to Live, as the Record reference documents it
# (Records[].userIdentity.type / .principalId); the API model names the members Type / PrincipalId.
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
TTL_IDENTITY_MODEL_CASE = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


def client_error(code: str, operation: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


def seq_text(number: int) -> str:
    return f"{number:021d}"


@dataclass
class FakeShard:
    shard_id: str
    parent_id: Optional[str]
    records: list = field(default_factory=list)  # (sequence int, record dict)
    starting: Optional[int] = None
    ending: Optional[int] = None
    trimmed_through: int = 0  # records with a sequence number up to this are gone
    empty_pages_before_records: int = 0

    def api(self) -> dict:
        shard = {"ShardId": self.shard_id, "SequenceNumberRange": {}}
        if self.parent_id:
            shard["ParentShardId"] = self.parent_id
        numbers = shard["SequenceNumberRange"]
        if self.starting is not None:
            numbers["StartingSequenceNumber"] = seq_text(self.starting)
        if self.ending is not None:
            numbers["EndingSequenceNumber"] = seq_text(self.ending)
        return shard


@dataclass
class _Iterator:
    shard_id: str
    after: int
    generation: int
    empty_pages_given: int = 0


class FakeStreamsClient:
    """In-memory DynamoDB Streams API test double (see the module docstring for its contract)."""

    def __init__(
        self,
        stream_arn: str = DEFAULT_ARN,
        view_type: str = "NEW_AND_OLD_IMAGES",
        describe_limit: int = 100,
        page_size: int = 1000,
    ):
        self.stream_arn = stream_arn
        self.view_type = view_type
        self.describe_limit = describe_limit
        self.page_size = page_size
        self.shards: dict = {}
        self.listing_order: list = []
        self.calls: list = []
        self._sequence = itertools.count(100)
        self._iterators: dict = {}
        self._tokens = itertools.count(1)
        self._generation = 0
        self.throttle_next = 0  # how many next calls raise LimitExceededException
        # Called with the double before each GetRecords answer: lets a test change the stream
        # while it is being read (close a shard, expire iterators), as time passing would.
        self.before_get_records = None

    # ------------------------------------------------------------------ building the stream
    def add_shard(
        self, shard_id: str, parent_id: Optional[str] = None, first: bool = False, empty_pages_before_records: int = 0
    ) -> FakeShard:
        shard = FakeShard(
            shard_id, parent_id, starting=next(self._sequence), empty_pages_before_records=empty_pages_before_records
        )
        self.shards[shard_id] = shard
        self.listing_order.insert(0, shard_id) if first else self.listing_order.append(shard_id)
        return shard

    def put(
        self,
        shard_id: str,
        event: str,
        key: dict,
        new_image: Optional[dict] = None,
        when: float = 1767225600.0,
        old_image: Optional[dict] = None,
        user_identity: Optional[dict] = None,
    ) -> str:
        """Append a change record (wire-form key and images) to an open shard; returns its sequence number.

        `old_image` is kept for MODIFY and REMOVE when the view type carries old images; `user_identity`
        becomes the record's top-level userIdentity (TTL_IDENTITY for a delete made by Time to Live).
        """
        shard = self.shards[shard_id]
        assert shard.ending is None, f"shard {shard_id} is closed"
        number = next(self._sequence)
        change = {
            "ApproximateCreationDateTime": when,
            "Keys": dict(key),
            "SequenceNumber": seq_text(number),
            "SizeBytes": 10,
            "StreamViewType": self.view_type,
        }
        if new_image is not None and event != "REMOVE":
            change["NewImage"] = dict(new_image)
        if old_image is not None and event != "INSERT" and self.view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            change["OldImage"] = dict(old_image)
        record = {
            "eventID": f"e{number}",
            "eventName": event,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": change,
        }
        if user_identity is not None:
            record["userIdentity"] = dict(user_identity)
        shard.records.append((number, record))
        return seq_text(number)

    def close(self, shard_id: str) -> None:
        shard = self.shards[shard_id]
        shard.ending = shard.records[-1][0] if shard.records else shard.starting

    def split(self, parent_id: str, *child_ids: str, children_first: bool = False) -> None:
        """Close a shard and open children with it as parent (listed before it when children_first)."""
        self.close(parent_id)
        for child_id in reversed(child_ids) if children_first else child_ids:
            self.add_shard(child_id, parent_id, first=children_first)

    def trim(self, shard_id: str, through: Optional[str] = None) -> None:
        """Trim the shard's records up to `through` (default: all of them)."""
        shard = self.shards[shard_id]
        shard.trimmed_through = int(through) if through else (shard.records[-1][0] if shard.records else 0)

    def drop(self, shard_id: str) -> None:
        """The shard is trimmed away entirely: DescribeStream no longer lists it."""
        del self.shards[shard_id]
        self.listing_order.remove(shard_id)

    def expire_iterators(self) -> None:
        """Every iterator handed out so far expires (as after 15 minutes)."""
        self._generation += 1

    def calls_of(self, operation: str) -> list:
        return [params for name, params in self.calls if name == operation]

    # ------------------------------------------------------------------ the API
    def _throttle(self, operation: str) -> None:
        if self.throttle_next:
            self.throttle_next -= 1
            raise client_error("LimitExceededException", operation, "Rate exceeded for shard")

    def _check_arn(self, arn: str, operation: str) -> None:
        if arn != self.stream_arn:
            raise client_error("ResourceNotFoundException", operation, f"Requested resource not found: {arn}")

    def describe_stream(
        self, StreamArn: str, ExclusiveStartShardId: Optional[str] = None, Limit: Optional[int] = None
    ) -> dict:
        self.calls.append(("DescribeStream", {"ExclusiveStartShardId": ExclusiveStartShardId, "Limit": Limit}))
        self._throttle("DescribeStream")
        self._check_arn(StreamArn, "DescribeStream")
        limit = min(Limit or self.describe_limit, self.describe_limit)
        order = self.listing_order
        start = order.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId in order else 0
        page = order[start : start + limit]
        description = {
            "StreamArn": self.stream_arn,
            "StreamStatus": "ENABLED",
            "StreamViewType": self.view_type,
            "Shards": [self.shards[shard_id].api() for shard_id in page],
        }
        if start + limit < len(order):
            description["LastEvaluatedShardId"] = page[-1]
        return {"StreamDescription": description}

    def get_shard_iterator(
        self, StreamArn: str, ShardId: str, ShardIteratorType: str, SequenceNumber: Optional[str] = None
    ) -> dict:
        self.calls.append(
            (
                "GetShardIterator",
                {"ShardId": ShardId, "ShardIteratorType": ShardIteratorType, "SequenceNumber": SequenceNumber},
            )
        )
        self._throttle("GetShardIterator")
        self._check_arn(StreamArn, "GetShardIterator")
        shard = self.shards.get(ShardId)
        if shard is None:
            raise client_error("ResourceNotFoundException", "GetShardIterator", f"shard {ShardId} not found")
        if ShardIteratorType == "TRIM_HORIZON":
            after = shard.trimmed_through
        elif ShardIteratorType == "LATEST":
            after = shard.records[-1][0] if shard.records else shard.starting
        elif ShardIteratorType in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if not SequenceNumber:
                raise client_error("ValidationException", "GetShardIterator", "SequenceNumber is required")
            number = int(SequenceNumber)
            after = number - 1 if ShardIteratorType == "AT_SEQUENCE_NUMBER" else number
            if after < shard.trimmed_through:
                raise client_error(
                    "TrimmedDataAccessException",
                    "GetShardIterator",
                    "The operation attempted to read past the oldest stream record in a shard",
                )
        else:
            raise client_error("ValidationException", "GetShardIterator", f"bad type {ShardIteratorType}")
        return {"ShardIterator": self._issue(_Iterator(ShardId, after, self._generation))}

    def _issue(self, iterator: _Iterator) -> str:
        token = f"{self.stream_arn}|it-{next(self._tokens)}"
        self._iterators[token] = iterator
        return token

    def get_records(self, ShardIterator: str, Limit: int = 1000) -> dict:
        self.calls.append(("GetRecords", {"ShardIterator": ShardIterator, "Limit": Limit}))
        if self.before_get_records is not None:
            self.before_get_records(self)
        self._throttle("GetRecords")
        iterator = self._iterators.get(ShardIterator)
        if iterator is None:
            raise client_error("ValidationException", "GetRecords", "Invalid ShardIterator")
        if iterator.generation != self._generation:
            raise client_error("ExpiredIteratorException", "GetRecords", "Iterator expired")
        shard = self.shards.get(iterator.shard_id)
        if shard is None:
            raise client_error("ResourceNotFoundException", "GetRecords", "shard not found")
        if iterator.after < shard.trimmed_through:
            raise client_error("TrimmedDataAccessException", "GetRecords", "records were trimmed")
        if iterator.empty_pages_given < shard.empty_pages_before_records:
            later = _Iterator(shard.shard_id, iterator.after, self._generation, iterator.empty_pages_given + 1)
            return {"Records": [], "NextShardIterator": self._issue(later)}
        remaining = [(number, record) for number, record in shard.records if number > iterator.after]
        page = remaining[: max(1, min(Limit, 1000, self.page_size))]
        answer = {"Records": [record for _, record in page]}
        last = page[-1][0] if page else iterator.after
        if not (shard.ending is not None and len(page) == len(remaining)):
            answer["NextShardIterator"] = self._issue(
                _Iterator(shard.shard_id, last, self._generation, iterator.empty_pages_given)
            )
        return answer
