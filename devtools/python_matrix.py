"""`make test-matrix`: the unit suite and one end-to-end sync on every CPython >= 3.9 found.

    python -m devtools.python_matrix [--versions 3.9,3.13] [--require 3.9,...] [--fresh]

Interpreters are looked for in pyenv's versions directory (``$PYENV_ROOT``, default ``~/.pyenv``)
and as ``python3.X`` / ``python3`` on PATH; each candidate is asked (by running it) what it is,
so pyenv shims of unselected versions, PyPy, free-threaded and pre-release builds drop out.
The running interpreter is tested for its minor version; for the others the newest patch
release wins. Per version, a venv under ``.test-cache/matrix/<minor>`` gets
``pip install -e '.[test]'`` (only what the tests need: the pinned lint tools of
requirements-dev.txt are not installed), re-created only when the interpreter or setup.py change;
then ``pytest tests/unit -m "not dynamodb"`` and one end-to-end sync (:data:`E2E_TEST`, which
starts its own DynamoDB Local) run with it. Logs: ``.test-cache/matrix/logs/<minor>.log``.

Every supported minor (:data:`SUPPORTED`, the classifiers of setup.py) gets a row in the summary,
also when it is not found. The exit status is 1 when a version that was found failed, when the
running interpreter's version is not among those tested, or when a ``--require``d version is missing.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from devtools.dynamodb_local import REPO_ROOT
from devtools.tool_venvs import CACHE_ROOT

# The Pythons setup.py claims (its classifiers and python_requires; a unit test holds them together).
SUPPORTED = ("3.9", "3.10", "3.11", "3.12", "3.13")
MINIMUM = (3, 9)
# One end-to-end sync: discover, then FULL_TABLE of every DynamoDB type and edge value, and a
# resume from a bookmark, through the tap's command line against DynamoDB Local.
E2E_TEST = "tests/integration/test_full_table.py::test_every_type_and_edge_value_end_to_end_with_a_binary_key_resume"
MATRIX_DIR = CACHE_ROOT / "matrix"
INSTALL_TIMEOUT = 900
TEST_TIMEOUT = 900

PROBE = """\
import json, platform, sys, sysconfig
base = sys.executable
if sys.prefix != sys.base_prefix:  # a venv: test its base interpreter
    base = "%s/bin/python%d.%d" % (sys.base_prefix, sys.version_info[0], sys.version_info[1])
print(json.dumps({
    "implementation": platform.python_implementation(),
    "version": list(sys.version_info[:3]),
    "release": sys.version_info.releaselevel,
    "executable": sys.executable,
    "base_executable": base,
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
}))
"""


def version_key(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split("."))


@dataclass(frozen=True)
class Interpreter:
    version: tuple[int, int, int]
    executable: str
    implementation: str
    release: str
    free_threaded: bool

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def full(self) -> str:
        text = ".".join(map(str, self.version))
        return text if self.release == "final" else f"{text} ({self.release})"


def probe(executable: str) -> Optional[Interpreter]:
    """What *executable* is (the base interpreter, when it is a venv's), or None if it is no Python."""
    try:
        done = subprocess.run([executable, "-c", PROBE], capture_output=True, text=True, timeout=30)
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(answer, dict):
        return None
    try:
        return Interpreter(
            version=(int(answer["version"][0]), int(answer["version"][1]), int(answer["version"][2])),
            executable=str(answer["base_executable"]),
            implementation=str(answer["implementation"]),
            release=str(answer["release"]),
            free_threaded=bool(answer["free_threaded"]),
        )
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def candidate_paths(pyenv_root: Path, path_env: str, running: Optional[str]) -> list[str]:
    """Interpreters to probe, best first: the running one, pyenv's (newest first), then PATH's."""
    candidates = [running] if running else []
    versions = pyenv_root / "versions"
    if versions.is_dir():
        installed = sorted(versions.iterdir(), key=lambda p: _numbers(p.name), reverse=True)
        candidates += [str(p / "bin" / "python3") for p in installed if (p / "bin" / "python3").exists()]
    for directory in path_env.split(os.pathsep):
        if not directory or not os.path.isdir(directory):
            continue
        names = [n for n in os.listdir(directory) if re.fullmatch(r"python3(\.\d+)?", n)]
        for name in sorted(names, key=_numbers, reverse=True):
            path = os.path.join(directory, name)
            if os.access(path, os.X_OK):
                candidates.append(path)
    return list(dict.fromkeys(candidates))


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text))


def discover(candidates: Iterable[str]) -> tuple[dict[str, Interpreter], list[str]]:
    """One CPython per minor version >= MINIMUM (the first candidate of that minor wins), and
    notes on the interpreters passed over."""
    found: dict[str, Interpreter] = {}
    notes: list[str] = []
    seen: set[str] = set()
    for path in candidates:
        interp = probe(path)
        if interp is None or interp.executable in seen:
            continue
        seen.add(interp.executable)
        why = None
        if interp.implementation != "CPython":
            why = interp.implementation
        elif interp.free_threaded:
            why = "free-threaded build"
        elif interp.release != "final":
            why = f"pre-release ({interp.release})"
        elif interp.version[:2] < MINIMUM:
            why = f"older than {'.'.join(map(str, MINIMUM))}"
        if why:
            notes.append(f"skipped {interp.executable} ({interp.full}): {why}")
        elif interp.minor not in found:
            found[interp.minor] = interp
    return found, notes


def minors_to_test(found: dict[str, Interpreter]) -> list[str]:
    return sorted(set(SUPPORTED) | set(found), key=version_key)


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    summary: str


@dataclass
class Result:
    minor: str
    interpreter: Optional[Interpreter]
    steps: list[Step] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.interpreter is None:
            return "not found"
        return "passed" if self.steps and all(step.ok for step in self.steps) else "failed"

    @property
    def seconds(self) -> float:
        return sum(step.seconds for step in self.steps)


def exit_status(results: Sequence[Result], running: Optional[str], required: Iterable[str] = ()) -> int:
    """1 if a version failed, or the running interpreter's version (None: not asked for) or a
    required one was not tested; else 0."""
    by_minor = {r.minor: r for r in results}
    if any(r.status == "failed" for r in results):
        return 1
    for minor in {*([running] if running else []), *required}:
        if minor not in by_minor or by_minor[minor].status == "not found":
            return 1
    return 0


def render(results: Sequence[Result]) -> str:
    rows = [("python", "result", "seconds", "install", "unit", "e2e", "interpreter")]
    for r in results:
        if r.interpreter is None:
            rows.append((r.minor, "not found", "", "", "", "", ""))
            continue
        steps = {step.name: step for step in r.steps}
        cells = []
        for name in ("install", "unit", "e2e"):
            step = steps.get(name)
            if step is None:
                cells.append("")
                continue
            took = f" ({step.seconds:.0f}s)" if name == "install" else ""  # pytest's summary has its time
            cells.append(f"{'' if step.ok else 'FAILED: '}{step.summary}{took}")
        verdict = "passed" if r.status == "passed" else "FAILED"
        rows.append((r.minor, verdict, f"{r.seconds:.0f}", *cells, f"{r.interpreter.full} {r.interpreter.executable}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pytest_summary(output: str) -> str:
    """pytest's closing line (`4 failed, 466 passed in 9.37s`), else the last line of output."""
    lines = [line.strip().strip("=").strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"\b(passed|failed|error|errors|skipped|deselected|no tests ran)\b.* in [\d.]+s", line):
            return line
    return lines[-1] if lines else ""


# --------------------------------------------------------------------------------------------
# Running one version
# --------------------------------------------------------------------------------------------


def _child_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(name: str, command: list[str], venv: Path, log, timeout: float) -> tuple[bool, str, float]:
    started = time.monotonic()
    log.write(f"\n$ {' '.join(command)}\n")
    log.flush()
    try:
        done = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=_child_env(venv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        output, ok = done.stdout, done.returncode == 0
        if not ok:
            output += f"\n[{name}] exit status {done.returncode}\n"
    except subprocess.TimeoutExpired as exc:
        output, ok = f"{exc.stdout or ''}\n[{name}] timed out after {timeout:.0f}s\n", False
    log.write(output)
    log.flush()
    if not ok:
        print(f"  {name} failed; the end of its output:", file=sys.stderr)
        print("    " + "\n    ".join(output.rstrip().splitlines()[-30:]), file=sys.stderr)
    return ok, output, time.monotonic() - started


def _stamp(interp: Interpreter) -> str:
    setup_py = hashlib.sha256((REPO_ROOT / "setup.py").read_bytes()).hexdigest()
    return f"{interp.executable}\n{interp.full}\nsetup.py {setup_py}\n"


def _install(interp: Interpreter, venv: Path, log, fresh: bool) -> Step:
    started = time.monotonic()
    stamp = venv / ".matrix-installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not fresh and stamp.exists() and stamp.read_text() == _stamp(interp) and (venv / "bin/python").exists():
            return Step("install", True, time.monotonic() - started, "venv reused")
        shutil.rmtree(venv, ignore_errors=True)
        python = str(venv / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet"]
        for name, command in (
            ("venv", [interp.executable, "-m", "venv", str(venv)]),
            ("pip", [*pip, "--upgrade", "pip"]),
            ("install", [*pip, "-e", ".[test]"]),
        ):
            ok, _, _ = _run(name, command, venv, log, INSTALL_TIMEOUT)
            if not ok:
                return Step("install", False, time.monotonic() - started, f"{name} failed")
        stamp.write_text(_stamp(interp))
    return Step("install", True, time.monotonic() - started, "installed")


def run_version(interp: Interpreter, fresh: bool = False) -> Result:
    venv = MATRIX_DIR / interp.minor
    (MATRIX_DIR / "logs").mkdir(parents=True, exist_ok=True)
    result = Result(interp.minor, interp)
    with open(MATRIX_DIR / "logs" / f"{interp.minor}.log", "w") as log:
        print(f"==> Python {interp.full} ({interp.executable})", file=sys.stderr, flush=True)
        result.steps.append(_install(interp, venv, log, fresh))
        if not result.steps[-1].ok:
            return result
        python = str(venv / "bin" / "python")
        pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        for name, args in (("unit", ["tests/unit", "-m", "not dynamodb"]), ("e2e", [E2E_TEST])):
            ok, output, seconds = _run(name, [*pytest, *args], venv, log, TEST_TIMEOUT)
            result.steps.append(Step(name, ok, seconds, pytest_summary(output)))
        print(f"    {result.status} in {result.seconds:.0f}s", file=sys.stderr, flush=True)
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.python_matrix", description=__doc__.split("\n")[0])
    parser.add_argument("--versions", help="only these minor versions, e.g. 3.9,3.13")
    parser.add_argument("--require", default="", help="fail when one of these minor versions is not found")
    parser.add_argument("--fresh", action="store_true", help="re-create the venvs")
    args = parser.parse_args(argv)

    started = time.monotonic()
    running = probe(sys.executable)
    if running is None:  # cannot happen for a working interpreter; the probe is stdlib only
        print(f"error: cannot probe the running interpreter {sys.executable}", file=sys.stderr)
        return 1
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found, notes = discover(candidate_paths(pyenv_root, os.environ.get("PATH", ""), running.executable))
    for note in notes:
        print(note, file=sys.stderr)
    minors = minors_to_test(found)
    if args.versions:
        wanted = {v.strip() for v in args.versions.split(",") if v.strip()}
        minors = [m for m in minors if m in wanted] + sorted(wanted - set(minors), key=version_key)
    required = [v.strip() for v in args.require.split(",") if v.strip()]

    results = [run_version(found[m], args.fresh) if m in found else Result(m, None) for m in minors]

    print(f"\nPython matrix ({time.monotonic() - started:.0f}s; logs in {MATRIX_DIR / 'logs'}):")
    print(render(results))
    # With --versions, the running interpreter's version is only required when it was asked for.
    status = exit_status(results, running=running.minor if running.minor in minors else None, required=required)
    missing = [r.minor for r in results if r.status == "not found"]
    if missing:
        print(f"not found (not tested): {', '.join(missing)}")
    print("matrix passed" if status == 0 else "matrix FAILED")
    return status


if __name__ == "__main__":
    sys.exit(main())
