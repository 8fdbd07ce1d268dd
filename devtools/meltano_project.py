"""Drive Meltano against a private copy of the repository's Meltano project.

The repository root is the Meltano project (meltano.yml, `pip_url: -e .`). Tests must not
leave `.meltano/`, `output/` or stored state in the checkout, so each gets a copy of
meltano.yml in its own directory, with the tap's `-e .` pointed at the checkout it was copied
from (pip runs in the project directory, where `.` would now be the copy). Everything else,
plugins and settings included, is the repository's file unchanged.
"""

from __future__ import annotations

import decimal
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from devtools.dynamodb_local import REPO_ROOT

EDITABLE_SELF = re.compile(r"^(\s*pip_url:) -e \.[ \t]*$", re.MULTILINE)
# Variables of the test process that must not leak into Meltano's or its plugins' environment.
DROPPED_ENV = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "MELTANO_PROJECT_ROOT",
    "MELTANO_ENVIRONMENT",
)


class MeltanoError(RuntimeError):
    pass


class MeltanoProject:
    """A Meltano project directory, its environment and the `meltano` executable to run in it."""

    def __init__(self, meltano: Path, directory: Path, env: Mapping[str, str]):
        self.meltano = Path(meltano)
        self.dir = Path(directory)
        self.env = dict(env)

    @classmethod
    def copy_of_repo(
        cls, meltano: Path, directory: Path, extra_env: Optional[Mapping[str, str]] = None, repo: Path = REPO_ROOT
    ) -> MeltanoProject:
        text = (repo / "meltano.yml").read_text()
        text, found = EDITABLE_SELF.subn(lambda m: f"{m.group(1)} -e {repo}", text)
        if found != 1:
            raise MeltanoError(f"expected one 'pip_url: -e .' line in {repo / 'meltano.yml'}, found {found}")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "meltano.yml").write_text(text)
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        env.update(
            {"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1"}
        )
        env.update(extra_env or {})
        return cls(meltano, directory, env)

    def run(
        self, *args: str, timeout: float = 600, check: bool = True, merge_stderr: bool = True
    ) -> subprocess.CompletedProcess:
        """`meltano ARGS` in the project; by default stdout and stderr together, as a user sees them."""
        done = subprocess.run(
            [str(self.meltano), *args],
            cwd=str(self.dir),
            env=self.env,
            timeout=timeout,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            text=True,
        )
        if check and done.returncode != 0:
            raise MeltanoError(
                f"meltano {' '.join(args)} exited {done.returncode}:\n{done.stdout[-6000:]}{done.stderr or ''}"
            )
        return done

    def jsonl(self, relative: str) -> list[dict]:
        """The rows of a JSON-lines file in the project, numbers exact."""
        path = self.dir / relative
        if not path.exists():
            return []
        return [json.loads(line, parse_float=decimal.Decimal) for line in path.read_text().splitlines() if line]

    def state(self, state_id: str) -> dict:
        """Meltano's stored state for a job (`meltano state get`)."""
        return json.loads(self.run("state", "get", state_id, merge_stderr=False).stdout)
