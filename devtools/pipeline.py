"""`tap | target` as a shell would run it: the tap's stdout piped straight into the target.

Both processes run at once, so the target's back-pressure reaches the tap exactly as in
production; each one's stderr is kept for the failure message.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass
class PipelineResult:
    tap_returncode: int
    target_returncode: int
    tap_stderr: str
    target_stdout: str
    target_stderr: str

    @property
    def ok(self) -> bool:
        return self.tap_returncode == 0 and self.target_returncode == 0

    def failure_message(self) -> str:
        return (
            f"tap exited {self.tap_returncode}, target exited {self.target_returncode}\n"
            f"--- tap stderr ---\n{self.tap_stderr[-4000:]}\n--- target stderr ---\n{self.target_stderr[-6000:]}"
        )


def run_pipeline(
    tap_command: Sequence[str],
    target_command: Sequence[str],
    tap_env: Mapping[str, str],
    target_env: Mapping[str, str],
    timeout: float = 300,
) -> PipelineResult:
    """Run `tap_command | target_command` and wait for both."""
    with tempfile.TemporaryFile("w+") as tap_err, tempfile.TemporaryFile("w+") as target_err:
        tap = subprocess.Popen(list(tap_command), stdout=subprocess.PIPE, stderr=tap_err, env=dict(tap_env))
        try:
            target = subprocess.Popen(
                list(target_command),
                stdin=tap.stdout,
                stdout=subprocess.PIPE,
                stderr=target_err,
                env=dict(target_env),
                text=True,
            )
            tap.stdout.close()  # the target alone holds the pipe, so the tap sees it close if the target dies
            try:
                target_out, _ = target.communicate(timeout=timeout)
                tap.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                target.kill()
                raise
        finally:
            if tap.poll() is None:
                tap.kill()
                tap.wait()
        tap_err.seek(0)
        target_err.seek(0)
        return PipelineResult(tap.returncode, target.returncode, tap_err.read(), target_out, target_err.read())
