"""Shared pytest fixtures.  This is the only place fixtures are defined.

DynamoDB Local
    ``dynamodb_local`` (session) starts one DynamoDB Local on a free port via
    ``devtools.dynamodb_local``; ``endpoint_url``, ``ddb`` and
    ``streams_client`` (session) point at it.  Set ``DYNAMODB_LOCAL_ENDPOINT``
    to use an already running server instead (e.g. one started with
    ``python -m devtools.dynamodb_local run``).  Tests that use any of these
    fixtures get the ``dynamodb`` marker automatically.

S3
    ``s3_server`` (session) is a real S3 server (SeaweedFS ``weed mini``, from
    ``devtools.s3_server``); ``s3_bucket`` is a fresh bucket name, created.  ``export_double`` is the
    export control-plane TEST DOUBLE in front of DynamoDB Local
    (``devtools.export_double``); ``export_config`` a tap config using it.

Tables
    ``make_table(...)`` creates uniquely named tables and deletes them after
    the test.

Running the tap
    ``tap_config`` writes a config pointing at DynamoDB Local; ``run_tap(...)``
    runs ``python -m tap_dynamodb`` as a subprocess and parses its output.

Plain helpers (``select_streams``, ``batch_write``, ...) are in
``tests/helpers.py``; ``select_streams`` is also exposed as a fixture.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from devtools import tap_runner
from devtools.dynamodb_local import LOCAL_CREDENTIALS, DynamoDBLocal, DynamoDBLocalError
from tests import helpers

DYNAMODB_FIXTURE = "dynamodb_local"
STREAM_VIEW_TYPES = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY", "OLD_IMAGE")
_TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def pytest_collection_modifyitems(config, items):
    """Mark every test that needs DynamoDB Local (directly or through another
    fixture) or lives in tests/integration/ with ``dynamodb``."""
    for item in items:
        in_integration = "integration" in Path(str(item.fspath)).parts
        if DYNAMODB_FIXTURE in getattr(item, "fixturenames", ()) or in_integration:
            item.add_marker(pytest.mark.dynamodb)


# --------------------------------------------------------------------------
# DynamoDB Local
# --------------------------------------------------------------------------


class _ExternalDynamoDB:
    """Stand-in for DynamoDBLocal when DYNAMODB_LOCAL_ENDPOINT is set."""

    def __init__(self, endpoint_url: str):
        self.endpoint_url = endpoint_url.rstrip("/")

    def client_kwargs(self) -> dict:
        return dict(LOCAL_CREDENTIALS, endpoint_url=self.endpoint_url)

    def stop(self) -> None:
        pass


@pytest.fixture(scope="session")
def dynamodb_local():
    """A running DynamoDB Local (session-wide).  Fails, never skips, if it
    cannot start."""
    external = os.environ.get("DYNAMODB_LOCAL_ENDPOINT")
    if external:
        yield _ExternalDynamoDB(external)
        return
    yield from _running(DynamoDBLocal(), DynamoDBLocalError, "DynamoDB Local")


def _running(server, start_error, what: str):
    """Start a session-wide server, fail (never skip) when it cannot start, stop it at the end."""
    try:
        server.start()
    except start_error as exc:
        pytest.fail(f"{what} could not be started: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def endpoint_url(dynamodb_local) -> str:
    """``http://127.0.0.1:PORT`` of DynamoDB Local."""
    return dynamodb_local.endpoint_url


def _boto_client(service: str, endpoint_url: str):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint_url,
        aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        region_name=LOCAL_CREDENTIALS["region_name"],
        config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}),
    )


@pytest.fixture(scope="session")
def ddb(endpoint_url):
    """boto3 low-level ``dynamodb`` client for DynamoDB Local."""
    return _boto_client("dynamodb", endpoint_url)


@pytest.fixture(scope="session")
def streams_client(endpoint_url):
    """boto3 ``dynamodbstreams`` client for DynamoDB Local."""
    return _boto_client("dynamodbstreams", endpoint_url)


# --------------------------------------------------------------------------
# S3 (a real server: SeaweedFS `weed mini`, devtools/s3_server.py)
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server():
    """A running S3 server on 127.0.0.1 (one per test process), started with
    :class:`devtools.s3_server.S3Server`: ``.endpoint_url``, ``.access_key``,
    ``.secret_key``, ``.client()`` (boto3, path-style).  Fails, never skips,
    if it cannot start."""
    from devtools.s3_server import S3Server, S3ServerError

    yield from _running(S3Server(), S3ServerError, "the S3 server (weed mini)")


@pytest.fixture
def s3_bucket(s3_server) -> Iterator[str]:
    """A fresh, empty bucket on the S3 server; returns its name; removed with its
    objects after the test (weed deletes non-empty buckets)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_server.client()
    name = f"test-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    yield name
    try:
        client.delete_bucket(Bucket=name)
    except (BotoCoreError, ClientError):  # clean-up only: a left-over bucket dies with the server's temp dir
        pass


@pytest.fixture
def export_double(dynamodb_local, s3_server):
    """A :class:`devtools.export_double.ExportDouble` (TEST DOUBLE of DynamoDB's export control
    plane) in front of the session's DynamoDB Local, writing exports into the S3 server; stopped
    after the test.  Point clients at ``export_double.endpoint_url``; PITR is off for every table
    until ``export_double.enable_pitr(name)`` (or UpdateContinuousBackups through it)."""
    from devtools.export_double import ExportDouble

    double = ExportDouble(dynamodb_local.endpoint_url, s3_server.client_kwargs()).start()
    yield double
    double.stop()


@pytest.fixture
def export_config(tap_config, export_double, s3_server, s3_bucket) -> TapConfig:
    """Tap config for export tests: ``endpoint_url`` is the export double, ``s3_endpoint_url`` the
    S3 server, ``export_s3_bucket`` a fresh bucket, polling every 0.05 s."""
    return tap_config.with_(
        endpoint_url=export_double.endpoint_url,
        s3_endpoint_url=s3_server.endpoint_url,
        export_s3_bucket=s3_bucket,
        export_poll_seconds=0.05,
    )


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------


@pytest.fixture
def make_table(ddb):
    """Factory creating tables that are deleted after the test::

        name = make_table(hash_key=("id", "S"), range_key=None, stream=None,
                          items=None, name_prefix="t")

    * ``hash_key`` / ``range_key``: ``(attribute name, "S" | "N" | "B")``
    * ``stream``: None or a StreamViewType ("NEW_IMAGE", "NEW_AND_OLD_IMAGES",
      "KEYS_ONLY", "OLD_IMAGE")
    * ``items``: low-level DynamoDB JSON dicts (``{"id": {"S": "a"}}``),
      written with BatchWriteItem in chunks of 25
    * ``global_indexes`` / ``local_indexes``: lists of
      ``(index name, hash (name, type), range (name, type) or None, projection)``
      where projection is "ALL", "KEYS_ONLY" or a list of INCLUDE attribute names
    * returns the table name: ``<name_prefix>_<uuid hex>``; PAY_PER_REQUEST
    """
    from botocore.exceptions import BotoCoreError, ClientError

    created: list[str] = []

    def _make_table(
        hash_key: tuple[str, str] = ("id", "S"),
        range_key: Optional[tuple[str, str]] = None,
        stream: Optional[str] = None,
        items: Optional[Iterable[dict[str, Any]]] = None,
        name_prefix: str = "t",
        global_indexes: Optional[list] = None,
        local_indexes: Optional[list] = None,
    ) -> str:
        if stream is not None and stream not in STREAM_VIEW_TYPES:
            raise ValueError(f"stream must be None or one of {STREAM_VIEW_TYPES}, got {stream!r}")
        name = f"{name_prefix}_{uuid.uuid4().hex}"
        if not _TABLE_NAME_RE.match(name):
            raise ValueError(f"invalid table name {name!r}: only [A-Za-z0-9_.-], 3..255 chars")
        keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
        definitions = dict(keys_ for keys_, _ in keys)
        for _, index_hash, index_range, _ in (global_indexes or []) + (local_indexes or []):
            definitions.update([index_hash] + ([index_range] if index_range else []))
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in definitions.items()],
            "KeySchema": [{"AttributeName": k[0], "KeyType": kind} for k, kind in keys],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if global_indexes:
            kwargs["GlobalSecondaryIndexes"] = [_index_spec(*index) for index in global_indexes]
        if local_indexes:
            kwargs["LocalSecondaryIndexes"] = [_index_spec(*index) for index in local_indexes]
        if stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
        ddb.create_table(**kwargs)
        created.append(name)
        helpers.wait_table_active(ddb, name)
        if items:
            helpers.batch_write(ddb, name, items)
        return name

    yield _make_table

    errors = []
    for name in created:
        try:
            ddb.delete_table(TableName=name)
        except ddb.exceptions.ResourceNotFoundException:
            pass
        except (BotoCoreError, ClientError) as exc:  # report, but try to delete the others too
            errors.append(f"{name}: {exc}")
    if errors:
        pytest.fail("could not delete test tables: " + "; ".join(errors), pytrace=False)


def _index_spec(name: str, hash_key: tuple[str, str], range_key: Optional[tuple[str, str]], projection) -> dict:
    keys = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    if isinstance(projection, str):
        spec = {"ProjectionType": projection}
    else:
        spec = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(projection)}
    return {"IndexName": name, "KeySchema": keys, "Projection": spec}


# --------------------------------------------------------------------------
# Running the tap
# --------------------------------------------------------------------------


class TapConfig(dict):
    """The tap config as a dict, also written to ``.path``.

    ``cfg.with_(key=value, ...)`` returns a new TapConfig (own file) with
    changes; a value of None removes the key.  After editing the dict in
    place, call ``cfg.write()`` to refresh the file.
    """

    def __init__(self, data: dict[str, Any], path: Path):
        super().__init__(data)
        self.path = Path(path)
        self.write()

    def write(self) -> Path:
        self.path.write_text(json.dumps(dict(self), indent=2))
        return self.path

    def with_(self, **changes) -> TapConfig:
        data = dict(self)
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        path = self.path.with_name(f"{self.path.stem}-{uuid.uuid4().hex[:8]}.json")
        return TapConfig(data, path)


@pytest.fixture
def tap_config(tmp_path, endpoint_url) -> TapConfig:
    """Config for the tap pointing at DynamoDB Local (dict + ``.path``)."""
    return TapConfig(
        {
            "region_name": LOCAL_CREDENTIALS["region_name"],
            "endpoint_url": endpoint_url,
            "aws_access_key_id": LOCAL_CREDENTIALS["aws_access_key_id"],
            "aws_secret_access_key": LOCAL_CREDENTIALS["aws_secret_access_key"],
        },
        tmp_path / "config.json",
    )


@pytest.fixture
def run_tap(request, tmp_path):
    """Run the tap as a subprocess::

        result = run_tap("--discover")
        result = run_tap(catalog=cat, state=st, config=None, extra_env=None,
                         check=True, timeout=300)

    Runs ``[sys.executable, "-m", "tap_dynamodb", "--config", CFG,
    ("--catalog", CAT), ("--state", ST), *args]``.  ``config``, ``catalog``
    and ``state`` may be dicts (written to temp files) or paths; ``config``
    defaults to the ``tap_config`` fixture (which starts DynamoDB Local).

    Returns a :class:`devtools.tap_runner.TapResult`: ``.returncode``,
    ``.stdout``, ``.stderr``, ``.messages`` (JSON lines, Decimal/int numbers),
    ``.records(stream=None)`` (record payloads), ``.record_messages()``,
    ``.states()`` (STATE values), ``.last_state``, ``.schemas()`` (SCHEMA
    messages), ``.of_type(t)``, ``.counts()``, ``.catalog`` (for --discover).

    With ``check=True`` the test fails if the exit code is non-zero, or if a
    sync run printed non-JSON lines on stdout.
    """
    workdir = tmp_path / "tap-runs"

    def _run_tap(
        *args, config=None, catalog=None, state=None, extra_env=None, check: bool = True, timeout: float = 300
    ) -> tap_runner.TapResult:
        if config is None:
            config = request.getfixturevalue("tap_config").path
        try:
            result = tap_runner.run_tap(
                *args,
                config=config,
                catalog=catalog,
                state=state,
                workdir=workdir,
                extra_env=extra_env,
                timeout=timeout,
            )
        except tap_runner.TapTimeout as exc:
            pytest.fail(str(exc), pytrace=False)
        if check:
            if result.returncode != 0:
                pytest.fail(result.failure_message(), pytrace=False)
            if result.bad_lines and "--discover" not in args:
                pytest.fail(
                    "tap printed non-JSON lines on stdout (Singer output must be "
                    "one JSON message per line):\n"
                    + "\n".join(result.bad_lines[:20])
                    + f"\n--- stderr ---\n{result.stderr[-3000:]}",
                    pytrace=False,
                )
        return result

    return _run_tap


@pytest.fixture
def select_streams():
    """The :func:`tests.helpers.select_streams` function, as a fixture."""
    return helpers.select_streams


@pytest.fixture
def catalog_for(run_tap, tap_config):
    """Discover only the named tables (config key ``tables``) and select them::

        catalog = catalog_for(name, other, method="FULL_TABLE", config=None)

    Streams stay in discovery order; ``method=None`` leaves replication-method unset.
    """

    def _catalog_for(*names: str, method: Optional[str] = "FULL_TABLE", config=None) -> dict[str, Any]:
        base = config if config is not None else tap_config
        catalog = run_tap("--discover", config=base.with_(tables=list(names))).catalog
        return helpers.select_streams(catalog, names, method)

    return _catalog_for


# --------------------------------------------------------------------------
# LOG_BASED: the DynamoDB Streams test double and in-process runs
# --------------------------------------------------------------------------


@pytest.fixture
def fake_streams():
    """A fresh :class:`tests.doubles.FakeStreamsClient`: an in-memory TEST DOUBLE of the
    DynamoDB Streams API for shard trees DynamoDB Local cannot produce."""
    from tests.doubles import FakeStreamsClient

    return FakeStreamsClient()


@pytest.fixture
def sync_in_process():
    """Run the tap's sync inside the test process::

        result = sync_in_process(catalog, config, state=None, streams=None, on_clients=None)

    ``config`` is a config dict (e.g. the ``tap_config`` fixture); ``streams`` replaces the
    DynamoDB Streams client (e.g. a FakeStreamsClient); ``on_clients(clients)`` is called
    before the sync, e.g. to register botocore event hooks on ``clients.dynamodb``.
    Returns a TapResult with the output messages (stderr is empty: use ``caplog``).
    """
    import io

    from tap_dynamodb.aws import Clients
    from tap_dynamodb.aws.api import Streams
    from tap_dynamodb.output.writer import MessageWriter
    from tap_dynamodb.replication.bookmarks import State
    from tap_dynamodb.replication.context import SyncContext
    from tap_dynamodb.replication.sync import sync
    from tap_dynamodb.settings import parse_config

    def _run(catalog, config, state=None, streams=None, on_clients=None) -> tap_runner.TapResult:
        parsed = parse_config(dict(config))
        clients = Clients(parsed)
        if streams is not None:
            clients.streams = Streams(
                streams
            )  # the test seam: Clients makes its streams client lazily (cached_property)
        if on_clients is not None:
            on_clients(clients)
        out = io.BytesIO()
        writer = MessageWriter(out)
        try:
            sync(SyncContext(config=parsed, clients=clients, writer=writer, state=State.load(state)), catalog)
        finally:
            writer.flush()
        return tap_runner.TapResult(["in-process"], 0, out.getvalue().decode(), "")

    return _run


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------


@pytest.fixture
def fault_proxy(endpoint_url):
    """Factory for fault-injecting proxies in front of DynamoDB Local::

        proxy = fault_proxy(rate=0.1, seed=7, kinds=RETRYABLE_FAULTS, rule=None,
                            timeout_delay=3.0, fake_sts=False)
        cfg = tap_config.with_(endpoint_url=proxy.url, request_timeout=2)

    See tests/faultproxy.py. Every proxy is stopped after the test.
    """
    from tests.faultproxy import FaultProxy

    started = []

    def _fault_proxy(**kwargs):
        proxy = FaultProxy(endpoint_url, **kwargs).start()
        started.append(proxy)
        return proxy

    yield _fault_proxy
    for proxy in started:
        proxy.stop()


# Real tools downstream: Meltano, a Postgres target, a PostgreSQL server
# --------------------------------------------------------------------------


def _tool(name: str) -> Path:
    from devtools.tool_venvs import ToolInstallError, ensure_tool

    try:
        return ensure_tool(name)
    except ToolInstallError as exc:
        pytest.fail(f"could not install {name} for the end-to-end tests: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def meltano_bin() -> Path:
    """The ``meltano`` executable, from its own cached venv (``devtools.tool_venvs``)."""
    return _tool("meltano")


@pytest.fixture(scope="session")
def target_postgres_bin() -> Path:
    """MeltanoLabs ``target-postgres``, from its own cached venv."""
    return _tool("target-postgres")


@pytest.fixture(scope="session")
def target_postgres_s3_bin() -> Path:
    """MeltanoLabs ``target-postgres`` with s3fs, so that it reads ``s3://`` BATCH files, in its own venv."""
    return _tool("target-postgres-s3")


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server (Debian's binaries) on a free port, session-wide.
    Fails, never skips, when it cannot start."""
    from devtools.postgres import PostgresError, PostgresServer

    yield from _running(PostgresServer(), PostgresError, "PostgreSQL")


@pytest.fixture
def meltano_project(tmp_path, meltano_bin, endpoint_url):
    """A copy of the repository's Meltano project in a temp dir (its own ``.meltano/``,
    system database, state and ``output/``), with the tap's settings for DynamoDB Local
    set the way users set them: ``TAP_DYNAMODB_*`` environment variables.  Returns a
    :class:`devtools.meltano_project.MeltanoProject`; add variables to ``.env``."""
    from devtools.meltano_project import MeltanoProject

    return MeltanoProject.copy_of_repo(
        meltano_bin,
        tmp_path / "meltano-project",
        extra_env={
            "TAP_DYNAMODB_ENDPOINT_URL": endpoint_url,
            "TAP_DYNAMODB_REGION_NAME": LOCAL_CREDENTIALS["region_name"],
            "TAP_DYNAMODB_AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
            "TAP_DYNAMODB_AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        },
    )
