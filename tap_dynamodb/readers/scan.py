"""Reading a table (or index) with Scan: pages from one or many segments, in wire form.

Each segment runs in its own thread and hands its pages to the caller through a bounded
queue, so fetching the next page overlaps with writing the current one and parallel
segments turn a latency-bound scan into a bandwidth-bound one. The caller (one thread)
writes records and bookmarks; a worker never touches output or state.

A column selection whose ProjectionExpression cannot be sent (over DynamoDB's 4 KB) is applied
here instead: the request reads whole items and `project` (catalog.projection's
`Projection.apply`) keeps of each what DynamoDB would have kept, so the pages are the same.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union, cast

from ..aws.api import DynamoDB
from ..aws.wire import key_for_botocore
from ..page import Page, WireItem
from .capacity import CapacityLimiter

LOGGER = logging.getLogger("tap_dynamodb")

_DONE = object()

Projector = Callable[[WireItem], WireItem]


@dataclass(frozen=True)
class ScanPosition:
    """Where a segment continues: after `last_key`, or nowhere (None: the segment is done)."""

    segment: int
    last_key: Optional[WireItem]


ScanPage = Page[ScanPosition]


def scan_segment(
    api: DynamoDB,
    request: dict[str, Any],
    segment: int,
    total: int,
    start_key: Optional[WireItem],
    limiter: Optional[CapacityLimiter] = None,
    project: Optional[Projector] = None,
) -> Iterator[ScanPage]:
    """The pages of one segment, starting after `start_key` (a wire-form key) when given.

    With a limiter, each request waits for the read-capacity budget and pays what it consumed.
    With `project`, each item is projected client-side (the request has no ProjectionExpression).
    """
    params = dict(request)
    if total > 1:
        params["Segment"] = segment
        params["TotalSegments"] = total
    if start_key:
        params["ExclusiveStartKey"] = key_for_botocore(start_key)
    if limiter:
        params["ReturnConsumedCapacity"] = "TOTAL"
    while True:
        if limiter:
            limiter.acquire()
        answer, consumed = api.scan_page(params)
        if limiter:
            limiter.spend(consumed)
        last = answer.after
        items = answer.items if project is None else [project(item) for item in answer.items]
        # a projection only leaves attributes out: the page's number check still holds
        page = Page(items, ScanPosition(segment, last), answer.numbers_checked)
        del items
        del answer  # only the Page keeps the items, so they go once it has been written
        yield page
        del page
        if not last:
            return
        params["ExclusiveStartKey"] = key_for_botocore(last)


class _Worker(threading.Thread):
    """Fetches one segment's pages; each page needs a slot, given back once the page is written."""

    def __init__(
        self,
        pages: Iterator[ScanPage],
        out: queue.Queue[Union[ScanPage, BaseException, object]],
        slots: threading.Semaphore,
        stop: threading.Event,
    ):
        super().__init__(daemon=True, name="scan-segment")
        self._pages = pages
        self._out = out
        self._slots = slots
        self._stop_event = stop

    def _wait_for_slot(self) -> bool:
        while not self._stop_event.is_set():
            if self._slots.acquire(timeout=0.2):
                return True
        return False

    def run(self) -> None:
        pages = iter(self._pages)
        try:
            while self._wait_for_slot():
                page = next(pages, _DONE)
                self._out.put(page)
                if page is _DONE:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            self._out.put(exc)


def parallel_pages(
    api: DynamoDB,
    request: dict[str, Any],
    segments: dict[int, Optional[WireItem]],
    total: int,
    limiter: Optional[CapacityLimiter] = None,
    project: Optional[Projector] = None,
) -> Iterator[ScanPage]:
    """Pages of the given segments ({segment: start key or None}) as they arrive.

    Pages of one segment arrive in order; pages of different segments interleave. Memory stays
    flat whatever the table size or the speed of DynamoDB: at most one page per segment is
    fetched or waiting while the caller writes another (a parsed page of 1000 items is several
    MB). If the consumer stops early, or a segment fails, every worker is told to stop. One
    limiter, when given, is shared by all segments. `project`, when given, is applied to every
    item (a column selection DynamoDB cannot be sent; see the module docstring).
    """
    if project is not None:
        LOGGER.info(
            "Table %s: the column selection's ProjectionExpression is over DynamoDB's 4 KB limit, so whole "
            "items are read and projected client-side (the same records; a projection saves bandwidth, "
            "not read capacity)",
            request.get("TableName"),
        )
    out: queue.Queue[Union[ScanPage, BaseException, object]] = queue.Queue()
    slots = threading.Semaphore(len(segments) + 1)
    stop = threading.Event()
    workers = [
        _Worker(scan_segment(api, request, seg, total, key, limiter, project), out, slots, stop)
        for seg, key in segments.items()
    ]
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        while running:
            item = out.get()
            if item is _DONE:
                running -= 1
                slots.release()
            elif isinstance(item, BaseException):
                raise item
            else:
                yield cast(ScanPage, item)
                del item  # the page is written: let it go before fetching more
                slots.release()
    finally:
        stop.set()
