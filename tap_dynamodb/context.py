"""What one sync run carries from stream to stream: config, clients, output and state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .aws import Clients
from .config import Config
from .output import MessageWriter
from .report import Report

LOGGER = logging.getLogger("tap_dynamodb")


@dataclass
class SyncContext:
    config: Config
    clients: Clients
    writer: MessageWriter
    state: dict = field(default_factory=lambda: {"bookmarks": {}})
    report: Report = field(default_factory=Report)  # readers call report.page() once per page

    def save_state(self) -> None:
        """Emit the current state; the writer flushes every record before it."""
        self.writer.state(self.state)
