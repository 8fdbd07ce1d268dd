"""A scan's records into batch files: one open part per segment, announced before the bookmark moves.

With `batch_config`, a FULL_TABLE scan (and LOG_BASED's initial load, the same scan) writes each
segment's pages into that segment's open part (output/batch.py) instead of RECORD lines. A part
is closed once it holds `batch_size` records (pages are never split, so a part may exceed it by
less than a page) or its segment ends; then, in this order:

1. the part is complete under its name (S3: uploaded);
2. the BATCH message naming it is written;
3. the segment's bookmark moves to the part's last key and `batch_parts` counts the part;
4. STATE.

So a STATE never covers a record that is not in an announced file, and a resumed segment
starts exactly after its last announced part, numbering its next part from `batch_parts`: the
part a killed run was writing is written again under the same name. What a kill at each step
leaves for a target is in docs/batch.md. Pages of a segment with no open part (empty pages) move
the bookmark at once, as in the RECORD path.
"""

from __future__ import annotations

from typing import Optional

from ..catalog.plan import StreamPlan
from ..output.batch import BatchStorage, PartWriter
from ..page import Page
from ..readers.scan import ScanPosition
from ..values.decoder import ItemDecoder
from .bookmarks import ScanProgress
from .context import SyncContext
from .pages import write_page


class SegmentParts:
    """The open parts of one scan, by segment, and the rule of the module docstring."""

    def __init__(
        self,
        ctx: SyncContext,
        storage: BatchStorage,
        plan: StreamPlan,
        decoder: ItemDecoder,
        version: Optional[int],
        progress: ScanProgress,
        total: int,
    ):
        self._ctx, self._storage, self._plan, self._decoder = ctx, storage, plan, decoder
        self._version, self._progress, self._total = version, progress, total
        self._open: dict[int, PartWriter] = {}

    def page(self, page: Page[ScanPosition]) -> int:
        """Write a page into its segment's part (closing and announcing it when due); the record count."""
        segment, last_key = page.after.segment, page.after.last_key
        part = self._open.get(segment)
        count = 0
        if page.items:
            if part is None:
                number = self._progress.parts_announced(segment)
                part = self._open[segment] = self._storage.open_part(self._plan.name, self._version, segment, number)
            count = write_page(
                self._ctx, self._plan, self._decoder, page.items, page.numbers_checked, self._version, part
            )
        else:
            self._ctx.report.page(self._plan.name, 0)  # an empty page (a row filter's) still counts as a page
        if part is not None and (last_key is None or part.records >= self._storage.config.batch_size):
            self._announce(segment)
            part = None
        if part is None and self._progress.page_done(self._total, segment, last_key):
            self._ctx.save_state()
        return count

    def _announce(self, segment: int) -> None:
        part = self._open.pop(segment)
        closed = part.close()
        url = self._storage.publish(closed)
        self._ctx.writer.batch(self._plan.name, self._storage.encoding, [url], self._version, closed.records)
        self._progress.part_announced(segment)

    def abort(self) -> None:
        """Drop every unfinished part (the run is failing; nothing was announced for them)."""
        for part in self._open.values():
            part.abort()
        self._open.clear()
