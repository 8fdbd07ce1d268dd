"""The clients of one run, built once from the session, with the retry policy and the fast path installed."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Optional, cast

from botocore.config import Config as BotoConfig
from botocore.exceptions import NoCredentialsError, PartialCredentialsError
from botocore.session import Session

from ..errors import TapError
from ..settings import Config
from . import wire
from .api import S3, DynamoDB, Streams
from .errors import NO_CREDENTIALS
from .retries import client_config, install_retry_policy
from .session import make_session
from .timers import install_request_timers


class Clients:
    """DynamoDB, DynamoDB Streams and S3 for one run, made once and shared by threads.

    botocore clients are thread-safe, so parallel scan segments share one client; its
    connection pool is sized for them. Callers get the seams of api.py, never raw clients.
    """

    def __init__(self, config: Config, session: Optional[Session] = None):
        self.config = config
        self._session = session
        self._pool_size = max(16, config.scan_segments or 0) + 4

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = make_session(self.config)
        return self._session

    def _make(self, service: str) -> Any:
        endpoint, botocore_config = self.config.endpoint_url, client_config(self.config, self._pool_size)
        if service == "s3":
            endpoint = self.config.s3_endpoint_url
            style = "path" if endpoint else "auto"  # S3-compatible servers rarely have per-bucket host names
            botocore_config = botocore_config.merge(
                BotoConfig(s3=cast(Any, {"addressing_style": style}), signature_version="s3v4")
            )
        try:
            client = self.session.create_client(
                service, endpoint_url=endpoint, region_name=self.config.region_name, config=botocore_config
            )
        except (NoCredentialsError, PartialCredentialsError):
            raise TapError(NO_CREDENTIALS) from None
        if service != "s3":
            wire.install(client)
        install_retry_policy(client, self.config.max_attempts)
        install_request_timers(client)
        return client

    @cached_property
    def dynamodb(self) -> DynamoDB:
        return DynamoDB(self._make("dynamodb"))

    @cached_property
    def streams(self) -> Streams:
        return Streams(self._make("dynamodbstreams"))

    @cached_property
    def s3(self) -> S3:
        """S3 for exports and batch files (s3_endpoint_url when set, with path-style addressing)."""
        return S3(self._make("s3"))
