"""A throwaway PostgreSQL server for the warehouse end-to-end test.

Uses Debian's `postgresql` package binaries (``/usr/lib/postgresql/<version>/bin``, the
newest version found, else ``initdb`` on PATH): initdb into a fresh temp directory, start on
a free port on 127.0.0.1 with trust auth, stop and delete on exit. PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user (the package creates it)
through ``runuser``. Queries go through ``psql`` and come back as JSON, so the tests need no
database driver and numbers keep every digit.

    with PostgresServer() as pg:
        rows = pg.query_json("select json_agg(t) from t")
"""

from __future__ import annotations

import decimal
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

from devtools.dynamodb_local import free_port

SUPERUSER = "postgres"
SERVER_SETTINGS = ("fsync=off", "full_page_writes=off", "synchronous_commit=off", "max_connections=30")


class PostgresError(RuntimeError):
    pass


def _version_key(path: str) -> tuple:
    version = Path(path).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def find_pg_bin() -> Path:
    """The directory holding initdb, pg_ctl and psql."""
    candidates = sorted(
        (d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.path.exists(f"{d}/initdb")),
        key=_version_key,
        reverse=True,
    )
    if candidates:
        return Path(candidates[0])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    raise PostgresError(
        "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, no initdb "
        "on PATH); install Debian's postgresql package: apt-get install postgresql"
    )


class PostgresServer:
    """One private PostgreSQL cluster; `start()` / `stop()` or use it as a context manager."""

    def __init__(self, bin_dir: Optional[Path] = None):
        self.bin_dir = Path(bin_dir) if bin_dir else find_pg_bin()
        self.host = "127.0.0.1"
        self.port: Optional[int] = None
        self.user = SUPERUSER
        self.dbname = "postgres"
        self._dir: Optional[Path] = None
        self._run_as: list[str] = []

    @property
    def data_dir(self) -> Path:
        return self._dir / "data"

    def _server_command(self, *args: str) -> list[str]:
        return [*self._run_as, str(self.bin_dir / args[0]), *args[1:]]

    def _run(self, command: list[str], what: str, timeout: float = 120) -> str:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, cwd=str(self._dir)
        )
        if done.returncode != 0:
            raise PostgresError(f"{what} failed (exit {done.returncode}): {done.stdout[-3000:]}")
        return done.stdout

    def _prepare_dir(self) -> None:
        # Not pytest's tmp_path: its parents are private to root, and the server user must enter it.
        self._dir = Path(tempfile.mkdtemp(prefix="tap-dynamodb-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PostgresError(
                    "running as root, but there is no postgres user to run the server as; "
                    "install Debian's postgresql package (it creates the user)"
                ) from None
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
            self._run_as = ["runuser", "-u", SUPERUSER, "--"]

    def start(self) -> PostgresServer:
        self._prepare_dir()
        try:
            self._run(
                self._server_command(
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale=C",
                ),
                "initdb",
            )
            self.port = free_port()
            options = f"-p {self.port} -k {self._dir} -c listen_addresses={self.host} " + " ".join(
                f"-c {s}" for s in SERVER_SETTINGS
            )
            self._run(
                self._server_command(
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-o",
                    options,
                    "-l",
                    str(self._dir / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ),
                "pg_ctl start",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._dir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._server_command("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=str(self._dir),
                timeout=60,
            )
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def psql(self, sql: str) -> str:
        """Run SQL with psql (unaligned, tuples only); the output text."""
        return self._run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                self.dbname,
                "-c",
                sql,
            ],
            "psql",
        )

    def query_json(self, sql: str) -> Any:
        """Run a query that returns one JSON value; numbers parsed exactly (Decimal / int)."""
        text = self.psql(sql).strip()
        return json.loads(text, parse_float=decimal.Decimal) if text else None

    def rows(self, table: str, order_by: str) -> list:
        """Every row of a table as a dict, in order."""
        return self.query_json(f"select coalesce(json_agg(t order by {order_by}), '[]') from {table} t")

    def column_types(self, schema: str, table: str) -> dict:
        """{column: data_type} as information_schema names them."""
        return (
            self.query_json(
                "select json_object_agg(column_name, data_type) from information_schema.columns "
                f"where table_schema = '{schema}' and table_name = '{table}'"
            )
            or {}
        )

    def target_config(self, schema: str) -> dict:
        """Connection settings as MeltanoLabs target-postgres reads them."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": "unused-trust-auth",
            "database": self.dbname,
            "default_target_schema": schema,
        }
