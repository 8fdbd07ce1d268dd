"""Reading a table (or index) with Scan: pages from one or many segments, in wire form.

Each segment runs in its own thread and hands its pages to the caller through a bounded
queue, so fetching the next page overlaps with writing the current one and parallel
segments turn a latency-bound scan into a bandwidth-bound one. The caller (one thread)
writes records and bookmarks; a worker never touches output or state.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Iterator, Optional

from .errors import TapError
from .throttle import CapacityLimiter, consumed_units
from .wire import key_for_botocore, numbers_checked, raw_response

_DONE = object()


@dataclass
class Page:
    """One Scan answer: its items in wire form and where the segment continues (None at the end)."""

    segment: int
    items: list
    last_evaluated_key: Optional[dict]
    numbers_checked: bool = False  # every N in `items` is JSON number text (decode.decode_items)


def scan_segment(client, request: dict, segment: int, total: int, start_key: Optional[dict],
                 limiter: Optional[CapacityLimiter] = None) -> Iterator[Page]:
    """The pages of one segment, starting after `start_key` (a wire-form key) when given.

    With a limiter, each request waits for the read-capacity budget and pays what it consumed.
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
        response = client.scan(**params)
        answer = raw_response(response)
        if "Count" not in answer:  # every Scan answer has one; a cut-off body that outlived its retries has not
            raise TapError(f"DynamoDB answered a Scan of {request['TableName']} with an incomplete body after "
                           "every retry; run again later and it resumes from the last STATE")
        if limiter:
            limiter.spend(consumed_units(answer))
        last = answer.get("LastEvaluatedKey")
        yield Page(segment, answer.get("Items", []), last, numbers_checked(response))
        if not last:
            return
        params["ExclusiveStartKey"] = key_for_botocore(last)


class _Worker(threading.Thread):
    def __init__(self, pages: Iterator[Page], out: "queue.Queue", stop: threading.Event):
        super().__init__(daemon=True, name="scan-segment")
        self._pages = pages
        self._out = out
        self._stop_event = stop

    def _put(self, item) -> bool:
        while not self._stop_event.is_set():
            try:
                self._out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            for page in self._pages:
                if not self._put(page):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            self._put(exc)
            return
        self._put(_DONE)


def parallel_pages(client, request: dict, segments: dict, total: int, prefetch: int = 2,
                   limiter: Optional[CapacityLimiter] = None) -> Iterator[Page]:
    """Pages of the given segments ({segment: start key or None}) as they arrive.

    Pages of one segment arrive in order; pages of different segments interleave. If the
    consumer stops early, or a segment fails, every worker is told to stop. One limiter, when
    given, is shared by all segments.
    """
    out: "queue.Queue" = queue.Queue(maxsize=max(2, prefetch * len(segments)))
    stop = threading.Event()
    workers = [_Worker(scan_segment(client, request, seg, total, key, limiter), out, stop)
               for seg, key in segments.items()]
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        while running:
            item = out.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
