"""What one sync run carries from stream to stream: config, clients, output, state and report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..aws import Clients
from ..output.batch import BatchStorage
from ..output.report import Report
from ..output.writer import MessageWriter
from ..settings import Config
from .bookmarks import State


@dataclass
class SyncContext:
    config: Config
    clients: Clients
    writer: MessageWriter
    state: State = field(default_factory=State)
    report: Report = field(default_factory=Report)  # the replication code calls report.page() once per page
    batches: Optional[BatchStorage] = None  # with batch_config: where scans write their records (sync makes it)

    def save_state(self) -> None:
        """Emit the current state; the writer flushes every record before it."""
        self.writer.state(self.state.to_dict())
