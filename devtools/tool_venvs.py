"""Third-party tools the end-to-end tests drive (Meltano, a Postgres target), each in its own venv.

They must not share the project venv: Meltano and Singer-SDK targets pin their own
versions of libraries the tap also uses, exactly as on a user's machine. The venvs are
cached under ``<repo>/.test-cache/venvs/`` (or ``$TAP_DYNAMODB_TEST_CACHE/venvs``; point
several checkouts at one directory to install once per machine) and re-created only when
the pinned requirements change. A file lock keeps two test sessions from installing the
same tool at once.

    python -m devtools.tool_venvs install [meltano target-postgres ...]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devtools.dynamodb_local import REPO_ROOT

CACHE_ROOT = Path(os.environ.get("TAP_DYNAMODB_TEST_CACHE", REPO_ROOT / ".test-cache"))


@dataclass(frozen=True)
class Tool:
    requirements: tuple
    executable: str


# Pinned so that a fresh machine runs the versions these tests were written against.
TOOLS = {
    "meltano": Tool(("meltano==4.4.1",), "meltano"),
    "target-postgres": Tool(("meltanolabs-target-postgres==0.8.1",), "target-postgres"),
    # The same target able to read s3:// BATCH files: the SDK opens them with fsspec, which needs s3fs
    # (pinned to the target's fsspec) for s3:// and takes the endpoint from AWS_ENDPOINT_URL.
    "target-postgres-s3": Tool(("meltanolabs-target-postgres==0.8.1", "s3fs==2026.9.0"), "target-postgres"),
    "target-jsonl": Tool(("target-jsonl==0.1.4",), "target-jsonl"),
}


class ToolInstallError(RuntimeError):
    pass


def venv_dir(name: str) -> Path:
    return CACHE_ROOT / "venvs" / name


def _stamp_text(tool: Tool) -> str:
    return "\n".join(tool.requirements) + f"\npython {sys.version_info[0]}.{sys.version_info[1]}\n"


def _base_python() -> str:
    """The interpreter behind the running one (a venv's python makes venvs of its base too)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _install(name: str, tool: Tool, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"[tool-venvs] installing {name} ({' '.join(tool.requirements)}) into {target}", file=sys.stderr)
    commands = [
        [_base_python(), "-m", "venv", str(target)],
        [
            str(target / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *tool.requirements,
        ],
    ]
    for command in commands:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise ToolInstallError(f"installing {name} failed ({' '.join(command)}):\n{done.stdout[-4000:]}")


def ensure_tool(name: str) -> Path:
    """The path of the tool's executable, installing its venv first if needed."""
    tool = TOOLS[name]
    target = venv_dir(name)
    executable = target / "bin" / tool.executable
    stamp = target / ".tool-installed"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == _stamp_text(tool) and executable.exists()):
            _install(name, tool, target)
            if not executable.exists():
                raise ToolInstallError(f"{name} installed, but {executable} does not exist")
            stamp.write_text(_stamp_text(tool))
    return executable


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.tool_venvs")
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="install (or check) tool venvs")
    install.add_argument("tools", nargs="*", help=f"any of {', '.join(TOOLS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; known: {', '.join(TOOLS)}")
    for name in args.tools or list(TOOLS):
        print(f"{name}: {ensure_tool(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
