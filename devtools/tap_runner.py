"""Run the tap as a subprocess and parse its Singer output.

Shared by the test fixtures (``tests/conftest.py``), ``make demo`` and
``make bench`` so that all of them drive the tap exactly like a user would:
through its command line, one JSON message per line on stdout, logs on stderr.
"""

from __future__ import annotations

import decimal
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional, Union

from devtools.dynamodb_local import LOCAL_CREDENTIALS, REPO_ROOT

PathOrDict = Union[str, os.PathLike, Mapping[str, Any], None]


def parse_message(line: str) -> Any:
    """Parse one Singer line; numbers stay exact (Decimal / int)."""
    return json.loads(line, parse_float=decimal.Decimal, parse_int=int)


def tap_command(prefer_console_script: bool = False) -> list[str]:
    """The command that starts the tap.

    With *prefer_console_script*, use the ``tap-dynamodb`` script installed next
    to the running interpreter (the venv's), else ``python -m tap_dynamodb``.
    """
    if prefer_console_script:
        script = Path(sys.executable).parent / "tap-dynamodb"
        if script.exists() and os.access(script, os.X_OK):
            return [str(script)]
    return [sys.executable, "-m", "tap_dynamodb"]


def local_env(extra_env: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Environment for the tap: dummy AWS credentials, no profile or metadata
    lookups, so nothing can reach real AWS by accident."""
    env = dict(os.environ)
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        env.pop(var, None)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": LOCAL_CREDENTIALS["region_name"],
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if extra_env:
        env.update({k: str(v) for k, v in extra_env.items()})
    return env


def write_json(path: Path, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Decimals from parsed tap output (e.g. a STATE fed back in) are accepted.
    path.write_text(json.dumps(data, indent=2, default=_json_default))
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        # Singer STATE/catalog values are normally ints or strings; keep ints
        # exact and fall back to float for fractional values.
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def as_file(value: PathOrDict, directory: Path, name: str) -> Optional[Path]:
    """A dict is written to ``directory/name``; a path is used as is."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return write_json(Path(directory) / name, dict(value))
    return Path(value)


class TapResult:
    """Outcome of one tap run.

    * ``returncode``, ``stdout`` (text), ``stderr`` (text), ``args`` (argv)
    * ``messages``: every stdout line parsed as JSON (Decimal/int numbers)
    * ``bad_lines``: stdout lines that are not JSON (a Singer tap must have none)
    """

    def __init__(self, args: Sequence[str], returncode: int, stdout: str, stderr: str):
        self.args = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.messages: list[Any] = []
        self.bad_lines: list[str] = []
        # Split on "\n" only: str.splitlines() would also split inside JSON strings that hold
        # U+2028, U+2029 or other characters Python counts as line breaks.
        for line in stdout.split("\n"):
            if not line.strip():
                continue
            try:
                self.messages.append(parse_message(line))
            except ValueError:
                self.bad_lines.append(line)

    # -- selectors -----------------------------------------------------------

    def of_type(self, msg_type: str) -> list[dict]:
        """Whole messages whose ``type`` is *msg_type* (e.g. "RECORD")."""
        msg_type = msg_type.upper()
        return [m for m in self.messages if isinstance(m, dict) and m.get("type") == msg_type]

    def record_messages(self, stream: Optional[str] = None) -> list[dict]:
        """Whole RECORD messages, optionally for one stream."""
        return [m for m in self.of_type("RECORD") if stream is None or m.get("stream") == stream]

    def records(self, stream: Optional[str] = None) -> list[dict]:
        """The ``record`` payloads of RECORD messages, optionally for one stream."""
        return [m["record"] for m in self.record_messages(stream)]

    def schemas(self, stream: Optional[str] = None) -> list[dict]:
        """Whole SCHEMA messages (they carry ``schema`` and ``key_properties``)."""
        return [m for m in self.of_type("SCHEMA") if stream is None or m.get("stream") == stream]

    def states(self) -> list[Any]:
        """The ``value`` of each STATE message, in order."""
        return [m["value"] for m in self.of_type("STATE")]

    @property
    def last_state(self) -> Any:
        """The value of the final STATE message, or None if there was none."""
        states = self.states()
        return states[-1] if states else None

    def counts(self) -> dict[str, int]:
        """Number of messages of each type."""
        out: dict[str, int] = {}
        for m in self.messages:
            t = m.get("type", "?") if isinstance(m, dict) else "?"
            out[t] = out.get(t, 0) + 1
        return out

    @property
    def catalog(self) -> Any:
        """For ``--discover`` runs: stdout as one JSON document (the catalog).

        Discovery output is a single (possibly pretty-printed) JSON object.
        """
        if len(self.messages) == 1 and not self.bad_lines:
            return self.messages[0]
        return parse_message(self.stdout)

    def failure_message(self) -> str:
        return (
            f"tap exited with code {self.returncode}: {' '.join(self.args)}\n"
            f"--- stderr (last 6000 chars) ---\n{self.stderr[-6000:]}"
        )

    def __repr__(self) -> str:
        return f"<TapResult rc={self.returncode} messages={len(self.messages)} counts={self.counts()}>"


class TapTimeout(RuntimeError):
    pass


def run_tap(
    *args: str,
    config: PathOrDict,
    catalog: PathOrDict = None,
    state: PathOrDict = None,
    workdir: Path,
    extra_env=None,
    timeout: float = 300,
    prefer_console_script: bool = False,
    on_command=None,
) -> TapResult:
    """Run the tap once.  Dicts are written to JSON files in *workdir*.

    *on_command*, if given, is called with the argv list before the run
    (the demo uses it to print each command line).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    # Unique file names so several runs in one test do not overwrite inputs
    # that a previous result still refers to.
    n = len(list(workdir.glob("run*-config.json"))) + 1
    cmd = tap_command(prefer_console_script)
    cmd += ["--config", str(as_file(config, workdir, f"run{n}-config.json"))]
    if catalog is not None:
        cmd += ["--catalog", str(as_file(catalog, workdir, f"run{n}-catalog.json"))]
    if state is not None:
        cmd += ["--state", str(as_file(state, workdir, f"run{n}-state.json"))]
    cmd += [str(a) for a in args]
    if on_command is not None:
        on_command(cmd)
    try:
        proc = subprocess.run(
            cmd,
            cwd=str(REPO_ROOT),
            env=local_env(extra_env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise TapTimeout(
            f"tap did not finish within {timeout}s: {' '.join(cmd)}\n--- stderr so far ---\n{err[-6000:]}"
        ) from None
    return TapResult(cmd, proc.returncode, proc.stdout, proc.stderr)
