"""`make demo` ends with commands to try the tap by hand: they must work as printed (issue 12,
point 14). The demo runs on its own DynamoDB Local (a free port); the hint starts DynamoDB Local
again, on the fixed port its config names, with the demo's tables, and runs the tap's console
script by its path (no activated venv needed).

Here the hint's port is a free one (`--hint-port`) and the demo's files go to a temporary
directory (`--workdir`), so the test does not depend on port 8000 or disturb output/demo.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from devtools.dynamodb_local import REPO_ROOT, _tcp_open, free_port

HINT_PREFIX = "  $ "


def hint_commands(stdout: str) -> list[str]:
    """The shell commands of the demo's closing hint, in order."""
    done = stdout[stdout.index("=== Done") :]
    return [line[len(HINT_PREFIX) :] for line in done.splitlines() if line.startswith(HINT_PREFIX)]


def bash(cwd_line: str, command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f"{cwd_line} && {command}"], capture_output=True, text=True, timeout=300, **kwargs
    )


def test_the_demos_closing_commands_work_as_printed(tmp_path):
    port = free_port()
    workdir = tmp_path / "demo"
    demo = subprocess.run(
        [sys.executable, "-m", "devtools.demo", "--workdir", str(workdir), "--hint-port", str(port)],
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    commands = hint_commands(demo.stdout)
    assert commands and commands[0].startswith("cd ")
    cd = commands[0]  # (printed again for the second terminal)
    assert all(c == cd for c in commands if c.startswith("cd "))
    rest = [c for c in commands if not c.startswith("cd ")]
    server_line = next(c for c in rest if "devtools.dynamodb_local run" in c)
    assert f"--port {port}" in server_line
    tap_lines = [c for c in rest if c != server_line]
    assert tap_lines and all(c.split()[0].endswith("/tap-dynamodb") for c in tap_lines)
    assert not any(c.split()[0] == "tap-dynamodb" for c in tap_lines)  # not on PATH without the venv

    # the config the hint names points at the port the hint starts
    config_path = next(c.split("--config ", 1)[1].split()[0] for c in tap_lines)
    config_file = config_path if os.path.isabs(config_path) else os.path.join(cd[3:].strip(), config_path)
    with open(config_file) as f:
        assert json.load(f)["endpoint_url"] == f"http://127.0.0.1:{port}"

    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # no venv on PATH, as for a user who did not activate it
    server = subprocess.Popen(
        ["bash", "-c", f"{cd} && exec {server_line}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while not _tcp_open(port):
            assert server.poll() is None, "the hint's DynamoDB Local command exited"
            assert time.monotonic() < deadline, "the hint's DynamoDB Local did not open its port"
            time.sleep(0.5)
        outputs = []
        for line in tap_lines:
            result = bash(cd, line, env=env)
            assert result.returncode == 0, f"$ {line}\n{result.stderr[-3000:]}"
            outputs.append(result)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    repo = cd[3:].strip()
    check, from_state = outputs[0], outputs[-1]
    assert "connection OK: 1 table" in check.stderr
    discovered = tap_lines[1].split(" > ", 1)[1]
    with open(os.path.join(repo, discovered)) as f:
        assert [s["tap_stream_id"] for s in json.load(f)["streams"]] == ["demo_orders"]
    with open(os.path.join(repo, tap_lines[2].split(" > ", 1)[1])) as f:
        records = [m for m in map(json.loads, f) if m["type"] == "RECORD"]
    assert len(records) == 50  # the demo's table after its changes: 50 - 1 deleted + 1 inserted
    # the demo's last STATE continues on the restarted server: the same DynamoDB stream, no reset
    assert "(resumed from bookmark)" in from_state.stderr and "Resetting" not in from_state.stderr
    assert [json.loads(line)["type"] for line in from_state.stdout.splitlines()].count("RECORD") == 0
