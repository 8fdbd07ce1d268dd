"""devtools/python_matrix.py (`make test-matrix`): which interpreters it finds, and how it judges
and reports the runs. Interpreters here are shell scripts that answer the probe like a Python would."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from devtools import python_matrix as pm


def fake_python(
    path: Path,
    version: tuple[int, int, int],
    implementation: str = "CPython",
    release: str = "final",
    base: Optional[Path] = None,
    free_threaded: bool = False,
) -> Path:
    """An executable that prints what the probe prints for such an interpreter."""
    answer = {
        "implementation": implementation,
        "version": list(version),
        "release": release,
        "executable": str(path),
        "base_executable": str(base or path),
        "free_threaded": free_threaded,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{json.dumps(answer)}'\n")
    path.chmod(0o755)
    return path


def broken_shim(path: Path) -> Path:
    """A pyenv shim for a version that is installed but not selected: exits 127, as pyenv's do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho 'pyenv: {path.name}: command not found' >&2\nexit 127\n")
    path.chmod(0o755)
    return path


def pyenv_python(root: Path, name: str, version: tuple[int, int, int], **kwargs) -> Path:
    return fake_python(root / "versions" / name / "bin" / "python3", version, **kwargs)


def test_finds_one_cpython_per_minor_from_pyenv_and_path(tmp_path):
    root, bin_dir = tmp_path / "pyenv", tmp_path / "bin"
    pyenv_python(root, "3.9.18", (3, 9, 18))
    pyenv_python(root, "3.12.1", (3, 12, 1))
    pyenv_python(root, "3.12.9", (3, 12, 9))  # the newest patch release of a minor wins
    pyenv_python(root, "3.8.18", (3, 8, 18))  # older than python_requires: not tested
    pyenv_python(root, "pypy3.10-7.3.15", (3, 10, 13), implementation="PyPy")
    pyenv_python(root, "3.13.0t", (3, 13, 0), free_threaded=True)
    pyenv_python(root, "3.14.0a1", (3, 14, 0), release="alpha")
    broken_shim(bin_dir / "python3.10")
    fake_python(bin_dir / "python3.11", (3, 11, 4))
    running = fake_python(tmp_path / "running" / "python3", (3, 13, 0))

    candidates = pm.candidate_paths(root, str(bin_dir), str(running))
    found, notes = pm.discover(candidates)

    assert {minor: interp.full for minor, interp in found.items()} == {
        "3.9": "3.9.18",
        "3.11": "3.11.4",
        "3.12": "3.12.9",
        "3.13": "3.13.0",
    }
    assert found["3.13"].executable == str(running)  # the running interpreter first
    assert found["3.11"].executable == str(bin_dir / "python3.11")
    text = "\n".join(notes)
    assert "PyPy" in text and "free-threaded" in text and "alpha" in text and "3.8.18" in text


def test_the_running_interpreter_wins_over_pyenv_and_a_venv_is_replaced_by_its_base(tmp_path):
    root = tmp_path / "pyenv"
    pyenv_python(root, "3.11.7", (3, 11, 7))
    base = fake_python(tmp_path / "base" / "python3.11", (3, 11, 9))
    in_venv = fake_python(tmp_path / "venv" / "bin" / "python3", (3, 11, 9), base=base)

    found, _ = pm.discover(pm.candidate_paths(root, "", str(in_venv)))

    assert found["3.11"].executable == str(base) and found["3.11"].full == "3.11.9"


def test_candidates_take_pythons_on_path_by_version_and_skip_missing_dirs(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir / "python3.10", (3, 10, 13))
    fake_python(bin_dir / "python3", (3, 11, 2))
    (bin_dir / "python3.10-config").write_text("")

    candidates = pm.candidate_paths(tmp_path / "no-pyenv", os.pathsep.join([str(bin_dir), "/nonexistent"]), None)

    assert str(bin_dir / "python3.10") in candidates and str(bin_dir / "python3") in candidates
    assert not any(c.endswith("-config") for c in candidates)


def test_probe_of_something_that_is_no_python_is_none(tmp_path):
    assert pm.probe(str(broken_shim(tmp_path / "python3.12"))) is None
    assert pm.probe(str(tmp_path / "missing")) is None
    not_json = tmp_path / "python3.9"
    not_json.write_text("#!/bin/sh\necho hello\n")
    not_json.chmod(0o755)
    assert pm.probe(str(not_json)) is None


def test_the_probe_works_on_this_interpreter():
    import sys

    interp = pm.probe(sys.executable)
    assert interp is not None and interp.version == tuple(sys.version_info[:3])


def result(minor: str, *oks: bool) -> pm.Result:
    interp = pm.Interpreter((3, int(minor.split(".")[1]), 0), f"/py/{minor}", "CPython", "final", False)
    steps = [pm.Step(name, ok, 1.5, "5 passed in 1.0s") for name, ok in zip(("install", "unit", "e2e"), oks)]
    return pm.Result(minor, interp, steps)


def test_exit_status_fails_on_a_failed_version_and_on_a_missing_running_or_required_one():
    passed, failed, missing = result("3.9", True, True, True), result("3.10", True, False), pm.Result("3.12", None, [])
    assert [passed.status, failed.status, missing.status] == ["passed", "failed", "not found"]

    assert pm.exit_status([passed, missing], running="3.9") == 0
    assert pm.exit_status([passed, failed, missing], running="3.9") == 1
    assert pm.exit_status([passed, missing], running="3.12") == 1
    assert pm.exit_status([passed, missing], running="3.9", required=["3.12"]) == 1
    assert pm.exit_status([passed, missing], running="3.9", required=["3.9"]) == 0


def test_every_supported_minor_gets_a_row_even_when_not_found():
    interp = pm.Interpreter((3, 14, 1), "/py/3.14", "CPython", "final", False)
    minors = pm.minors_to_test({"3.9": interp, "3.14": interp})
    assert minors == [*pm.SUPPORTED, "3.14"]


def test_the_summary_table_lists_each_version_step_and_verdict():
    table = pm.render([result("3.9", True, True, True), result("3.10", True, False), pm.Result("3.12", None, [])])
    lines = table.splitlines()
    row = {line.split()[0]: line for line in lines if line[:1].isdigit()}
    assert "passed" in row["3.9"] and "/py/3.9" in row["3.9"] and "5 passed" in row["3.9"]
    assert "FAILED" in row["3.10"]
    assert "not found" in row["3.12"]


def test_pytest_summary_is_the_last_result_line():
    output = "....\nFAILED tests/x.py::t - boom\n=== 4 failed, 466 passed, 2 deselected in 9.37s ===\n"
    assert pm.pytest_summary(output) == "4 failed, 466 passed, 2 deselected in 9.37s"
    assert pm.pytest_summary("1 passed in 5.00s\n") == "1 passed in 5.00s"
    assert pm.pytest_summary("ERROR: file or directory not found: x\n") == "ERROR: file or directory not found: x"
