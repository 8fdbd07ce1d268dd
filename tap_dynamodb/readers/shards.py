"""Walking a DynamoDB stream's shards: listing them, ordering them as a tree, reading pages.

This module knows the DynamoDB Streams API contract through the seam aws.api.Streams, which
wraps any client with `describe_stream`, `get_shard_iterator` and `get_records` that raises
botocore's ClientError with the service's error codes, so the same walk runs against AWS and
against the in-memory test double that can split, close, trim and expire shards (DynamoDB
Local cannot). Retries (LimitExceededException included) are the client's retry policy
(aws.retries), not this module's.

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
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Optional

import backoff
from botocore.exceptions import ClientError

from ..aws.api import Streams
from ..aws.errors import EXPIRED_ITERATOR, NOT_FOUND, TRIMMED, error_code
from ..errors import TapError
from ..page import Page
from ..settings import DEFAULTS

LOGGER = logging.getLogger("tap_dynamodb")

DEFAULT_TIP_EMPTY_PAGES: int = DEFAULTS["stream_tip_empty_pages"]
MAX_EXPIRIES_WITHOUT_PROGRESS = 5
# An iterator that expired is renewed at once; one that expires again before a record could be
# read (a slow or congested link, a skewed clock) is renewed after a growing pause, a wait the
# SDK's retries do not cover since each GetShardIterator call itself succeeds.
EXPIRY_PAUSE_SECONDS = 0.1

ShardPage = Page[str]
"""Stream records of one shard; `after` is the sequence number of the last one (what to bookmark)."""


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
    def from_api(cls, raw: dict[str, Any]) -> Shard:
        numbers = raw.get("SequenceNumberRange") or {}
        return cls(
            raw["ShardId"],
            raw.get("ParentShardId"),
            numbers.get("StartingSequenceNumber"),
            numbers.get("EndingSequenceNumber"),
        )


def list_shards(api: Streams, stream_arn: str) -> list[Shard]:
    """Every shard DescribeStream lists, following LastEvaluatedShardId across pages."""
    shards: list[Shard] = []
    start = None
    while True:
        description = api.describe_stream(stream_arn, start)
        shards.extend(Shard.from_api(raw) for raw in description.get("Shards", []))
        start = description.get("LastEvaluatedShardId")
        if not start:
            return shards


def tree_order(shards: Iterable[Shard]) -> list[Shard]:
    """The shards with every parent before its children; roots (no parent listed) by start.

    A shard whose parent is no longer listed is a root: its parent has been trimmed away.
    """
    shards = list(shards)
    listed = {shard.shard_id for shard in shards}
    children: dict[str, list[Shard]] = {}
    roots = []
    for shard in shards:
        if shard.parent_id and shard.parent_id in listed and shard.parent_id != shard.shard_id:
            children.setdefault(shard.parent_id, []).append(shard)
        else:
            roots.append(shard)

    def start(shard: Shard) -> tuple[int, str, str]:
        number = shard.starting_sequence or ""
        return (len(number), number, shard.shard_id)  # sequence numbers compare as whole numbers

    ordered: list[Shard] = []
    pending = sorted(roots, key=start, reverse=True)
    while pending:
        shard = pending.pop()
        ordered.append(shard)
        pending.extend(sorted(children.get(shard.shard_id, []), key=start, reverse=True))
    return ordered


class ShardReader:
    """Reads one shard from TRIM_HORIZON or after a sequence number, a page at a time.

    The caller consumes each page before asking for the next one; a page's `after` (and
    `last_sequence`) is the sequence number of the last record handed out (the position to
    bookmark), and `finished` says whether a closed shard has been read to its end.
    """

    def __init__(
        self,
        api: Streams,
        stream_arn: str,
        shard: Shard,
        after_sequence: Optional[str],
        tip_empty_pages: int = DEFAULT_TIP_EMPTY_PAGES,
        caught_up_at: Optional[float] = None,
    ):
        self.api = api
        self.stream_arn = stream_arn
        self.shard = shard
        self.last_sequence = after_sequence
        self.tip_empty_pages = max(1, tip_empty_pages)
        self.finished = False
        # Epoch seconds: an open shard whose records have reached this time is caught up, even
        # if writes keep coming faster than empty pages can appear (a busy table).
        self.caught_up_at = caught_up_at

    @property
    def shard_id(self) -> str:
        return self.shard.shard_id

    def _iterator(self) -> str:
        try:
            return self.api.shard_iterator(self.stream_arn, self.shard_id, self.last_sequence)
        except ClientError as exc:
            self._raise_if_aged_out(exc)
            raise

    def _raise_if_aged_out(self, exc: ClientError) -> None:
        """StreamAgedOut when the error says the records this reader needs are gone."""
        code = error_code(exc)
        if code == TRIMMED:
            where = f"after sequence number {self.last_sequence}" if self.last_sequence else "from its start"
            raise StreamAgedOut(
                f"shard {self.shard_id} has been trimmed: its records {where} are no longer "
                "in the stream (older than 24 hours)"
            ) from None
        if code == NOT_FOUND:
            raise StreamAgedOut(f"shard {self.shard_id} no longer exists in stream {self.stream_arn}") from None

    def _get_records(self, iterator: str) -> Optional[Page[Optional[str]]]:
        """One GetRecords answer (`after`: the next iterator), or None when the iterator expired."""
        try:
            return self.api.get_records(iterator)
        except ClientError as exc:
            if error_code(exc) == EXPIRED_ITERATOR:
                return None
            self._raise_if_aged_out(exc)
            raise

    def _reached_stop_time(self, record: dict[str, Any]) -> bool:
        created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        return self.caught_up_at is not None and created is not None and float(created) >= self.caught_up_at

    def pages(self) -> Iterator[ShardPage]:
        """Non-empty pages of wire-form stream records, in order, until the end or the tip."""
        iterator = self._iterator()
        empty_in_a_row = 0
        expiries = 0
        pauses = _expiry_pauses()
        while True:
            answer = self._get_records(iterator)
            if answer is None:
                expiries += 1
                if expiries > MAX_EXPIRIES_WITHOUT_PROGRESS:
                    raise TapError(
                        f"shard {self.shard_id}: shard iterators keep expiring before they can be used; "
                        "check the machine's clock and network latency, then run the sync again"
                    )
                LOGGER.info(
                    "Shard iterator of %s expired; continuing after %s",
                    self.shard_id,
                    self.last_sequence or "the shard's start",
                )
                if expiries > 1:
                    time.sleep(next(pauses))
                iterator = self._iterator()
                continue
            records = answer.items
            next_iterator = answer.after
            if records:
                if expiries:
                    pauses = _expiry_pauses()
                empty_in_a_row = expiries = 0
                last = records[-1]
                self.last_sequence = sequence = last["dynamodb"]["SequenceNumber"]
                yield Page(records, sequence, answer.numbers_checked)  # the caller may empty the list
                if self._reached_stop_time(last) and next_iterator:
                    return
            else:
                empty_in_a_row += 1
            if not next_iterator:
                self.finished = True  # a closed shard, read to its end
                return
            if empty_in_a_row >= self.tip_empty_pages:
                return  # caught up with an open shard
            iterator = next_iterator


def _expiry_pauses() -> Iterator[float]:
    """Exponential pauses (backoff's wait generator), primed past its initial yield."""
    pauses = backoff.expo(factor=EXPIRY_PAUSE_SECONDS)
    next(pauses)
    return pauses


def walk(
    api: Streams,
    stream_arn: str,
    shards: list[Shard],
    finished: Iterable[str],
    positions: dict[str, Optional[str]],
    tip_empty_pages: int = DEFAULT_TIP_EMPTY_PAGES,
    caught_up_at: Optional[float] = None,
) -> Iterator[ShardReader]:
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
        reader = ShardReader(api, stream_arn, shard, positions.get(shard.shard_id), tip_empty_pages, caught_up_at)
        yield reader
        if reader.finished:
            done.add(shard.shard_id)


def check_bookmarks(shards: list[Shard], positions: dict[str, Optional[str]]) -> None:
    """Raise StreamAgedOut when a bookmarked, unfinished shard is no longer listed.

    DescribeStream lists a shard until its last records are trimmed (24 hours), so an
    unfinished shard that has disappeared took unread records with it.
    """
    listed = {shard.shard_id for shard in shards}
    gone = sorted(shard_id for shard_id in positions if shard_id not in listed)
    if gone:
        raise StreamAgedOut(
            f"bookmarked shard {gone[0]} is no longer in the stream: its unread records have "
            "been trimmed (older than 24 hours)"
        )
