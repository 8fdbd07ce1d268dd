"""Walking a DynamoDB stream's shards: listing them, ordering them as a tree, reading pages.

This module knows the DynamoDB Streams API contract but not boto3: it takes any client with
`describe_stream`, `get_shard_iterator` and `get_records` that raises botocore's ClientError
with the service's error codes, so the same walk runs against AWS and against the in-memory
test double that can split, close, trim and expire shards (DynamoDB Local cannot).

Why a tree: when a shard splits or closes, its writes continue in child shards. An item's
older changes are in the parent, so a child is read only after its parent has been read to
its end (or the parent has been trimmed away and is no longer listed); otherwise an old value
could overwrite a newer one downstream.

Why open shards too: an open shard holds the most recent changes. It is read until GetRecords
has caught up (several empty pages in a row: DynamoDB may hand out empty pages before the first
records of a young shard, so one empty page proves nothing) and bookmarked there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import backoff
from botocore.exceptions import ClientError

from .aws import error_code
from .config import DEFAULT_STREAM_TIP_EMPTY_PAGES
from .errors import TapError
from .wire import numbers_checked, raw_response

LOGGER = logging.getLogger("tap_dynamodb")

GET_RECORDS_LIMIT = 1000
TRIMMED = "TrimmedDataAccessException"
EXPIRED = "ExpiredIteratorException"
NOT_FOUND = "ResourceNotFoundException"
LIMIT_EXCEEDED = "LimitExceededException"
MAX_EXPIRIES_WITHOUT_PROGRESS = 5


class StreamAgedOut(Exception):
    """Records the bookmarks point at are gone from the stream: the table must be re-replicated."""


@dataclass(frozen=True)
class Shard:
    """One shard as DescribeStream lists it; `ending_sequence` is None while the shard is open."""

    shard_id: str
    parent_id: Optional[str]
    starting_sequence: Optional[str]
    ending_sequence: Optional[str]

    @property
    def closed(self) -> bool:
        return self.ending_sequence is not None

    @classmethod
    def from_api(cls, raw: dict) -> "Shard":
        numbers = raw.get("SequenceNumberRange") or {}
        return cls(raw["ShardId"], raw.get("ParentShardId"), numbers.get("StartingSequenceNumber"),
                   numbers.get("EndingSequenceNumber"))


def _throttled(exc: Exception) -> bool:
    return error_code(exc) == LIMIT_EXCEEDED


# botocore's standard retry mode already retries throttling and 5xx a few times; the Streams
# API's LimitExceededException (too many calls per shard per second) gets a longer patience here.
_retry_when_limited = backoff.on_exception(backoff.expo, ClientError, giveup=lambda exc: not _throttled(exc),
                                           max_tries=8, factor=0.5, max_value=10, logger=None)


@_retry_when_limited
def _describe_page(client, stream_arn: str, start_shard_id: Optional[str]) -> dict:
    params = {"StreamArn": stream_arn}
    if start_shard_id:
        params["ExclusiveStartShardId"] = start_shard_id
    return client.describe_stream(**params)["StreamDescription"]


def list_shards(client, stream_arn: str) -> list:
    """Every shard DescribeStream lists, following LastEvaluatedShardId across pages."""
    shards, start = [], None
    while True:
        description = _describe_page(client, stream_arn, start)
        shards.extend(Shard.from_api(raw) for raw in description.get("Shards", []))
        start = description.get("LastEvaluatedShardId")
        if not start:
            return shards


def tree_order(shards: Iterable[Shard]) -> list:
    """The shards with every parent before its children; roots (no parent listed) by start.

    A shard whose parent is no longer listed is a root: its parent has been trimmed away.
    """
    shards = list(shards)
    listed = {shard.shard_id for shard in shards}
    children: dict = {}
    roots = []
    for shard in shards:
        if shard.parent_id and shard.parent_id in listed and shard.parent_id != shard.shard_id:
            children.setdefault(shard.parent_id, []).append(shard)
        else:
            roots.append(shard)

    def start(shard: Shard) -> tuple:
        number = shard.starting_sequence or ""
        return (len(number), number, shard.shard_id)  # sequence numbers compare as whole numbers

    ordered, pending = [], sorted(roots, key=start, reverse=True)
    while pending:
        shard = pending.pop()
        ordered.append(shard)
        pending.extend(sorted(children.get(shard.shard_id, []), key=start, reverse=True))
    return ordered


class ShardReader:
    """Reads one shard from TRIM_HORIZON or after a sequence number, a page at a time.

    The caller consumes each page before asking for the next one; `last_sequence` is then the
    sequence number of the last record handed out (the position to bookmark) and `finished`
    says whether a closed shard has been read to its end.
    """

    def __init__(self, client, stream_arn: str, shard: Shard, after_sequence: Optional[str],
                 tip_empty_pages: int = DEFAULT_STREAM_TIP_EMPTY_PAGES, caught_up_at: Optional[float] = None):
        self.client = client
        self.stream_arn = stream_arn
        self.shard = shard
        self.last_sequence = after_sequence
        self.tip_empty_pages = max(1, tip_empty_pages)
        self.finished = False
        # Whether the page last handed out passed decode.numbers_are_json (see decode_items).
        self.numbers_checked = False
        # Epoch seconds: an open shard whose records have reached this time is caught up, even
        # if writes keep coming faster than empty pages can appear (a busy table).
        self.caught_up_at = caught_up_at

    @property
    def shard_id(self) -> str:
        return self.shard.shard_id

    def _iterator(self) -> str:
        params = {"StreamArn": self.stream_arn, "ShardId": self.shard_id}
        if self.last_sequence:
            params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.last_sequence)
        else:
            params["ShardIteratorType"] = "TRIM_HORIZON"
        try:
            return _retry_when_limited(self.client.get_shard_iterator)(**params)["ShardIterator"]
        except ClientError as exc:
            raise self._aged_out(exc) or exc

    def _aged_out(self, exc: ClientError) -> Optional[StreamAgedOut]:
        code = error_code(exc)
        if code == TRIMMED:
            where = f"after sequence number {self.last_sequence}" if self.last_sequence else "from its start"
            return StreamAgedOut(f"shard {self.shard_id} has been trimmed: its records {where} are no longer "
                                 "in the stream (older than 24 hours)")
        if code == NOT_FOUND:
            return StreamAgedOut(f"shard {self.shard_id} no longer exists in stream {self.stream_arn}")
        return None

    def _get_records(self, iterator: str) -> Optional[dict]:
        """One GetRecords answer in wire form, or None when the iterator expired."""
        try:
            response = _retry_when_limited(self.client.get_records)(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        except ClientError as exc:
            if error_code(exc) == EXPIRED:
                return None
            raise self._aged_out(exc) or exc
        self.numbers_checked = numbers_checked(response)
        return raw_response(response)

    def _reached_stop_time(self, record: dict) -> bool:
        created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        return self.caught_up_at is not None and created is not None and float(created) >= self.caught_up_at

    def pages(self) -> Iterator[list]:
        """Non-empty pages of wire-form stream records, in order, until the end or the tip."""
        iterator = self._iterator()
        empty_in_a_row = 0
        expiries = 0
        while True:
            answer = self._get_records(iterator)
            if answer is None:
                expiries += 1
                if expiries > MAX_EXPIRIES_WITHOUT_PROGRESS:
                    raise TapError(f"shard {self.shard_id}: shard iterators keep expiring before they can be used; "
                                   "check the machine's clock and network latency, then run the sync again")
                LOGGER.info("Shard iterator of %s expired; continuing after %s", self.shard_id,
                            self.last_sequence or "the shard's start")
                iterator = self._iterator()
                continue
            records = answer.get("Records") or []
            iterator = answer.get("NextShardIterator")
            if records:
                empty_in_a_row = expiries = 0
                last = records[-1]
                self.last_sequence = last["dynamodb"]["SequenceNumber"]
                yield records  # the caller may empty the list (MessageWriter.records_in_chunks)
                if self._reached_stop_time(last) and iterator:
                    return
            else:
                empty_in_a_row += 1
            if not iterator:
                self.finished = True  # a closed shard, read to its end
                return
            if empty_in_a_row >= self.tip_empty_pages:
                return  # caught up with an open shard


def walk(client, stream_arn: str, shards: list, finished: Iterable[str], positions: dict,
         tip_empty_pages: int = DEFAULT_STREAM_TIP_EMPTY_PAGES,
         caught_up_at: Optional[float] = None) -> Iterator[ShardReader]:
    """A reader for every shard that may be read now, parents before children.

    `finished` are shards read to their end; `positions` maps shard id → the sequence number
    to continue after (None or absent: from TRIM_HORIZON). The caller reads each reader's pages
    before taking the next reader: a shard becomes finished only then, and a child is handed
    out only when its parent is finished or no longer listed. `caught_up_at`: see ShardReader.
    """
    listed = {shard.shard_id for shard in shards}
    done = set(finished)
    for shard in tree_order(shards):
        if shard.shard_id in done:
            continue
        if shard.parent_id in listed and shard.parent_id not in done:
            continue  # the parent still has unread records (or is still open)
        reader = ShardReader(client, stream_arn, shard, positions.get(shard.shard_id), tip_empty_pages,
                             caught_up_at)
        yield reader
        if reader.finished:
            done.add(shard.shard_id)


def check_bookmarks(shards: list, positions: dict) -> None:
    """Raise StreamAgedOut when a bookmarked, unfinished shard is no longer listed.

    DescribeStream lists a shard until its last records are trimmed (24 hours), so an
    unfinished shard that has disappeared took unread records with it.
    """
    listed = {shard.shard_id for shard in shards}
    gone = sorted(shard_id for shard_id in positions if shard_id not in listed)
    if gone:
        raise StreamAgedOut(f"bookmarked shard {gone[0]} is no longer in the stream: its unread records have "
                            "been trimmed (older than 24 hours)")
