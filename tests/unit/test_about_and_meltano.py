"""`--about`, the settings list and the repository's meltano.yml agree with what config.py reads."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools import settings_docs
from tap_dynamodb import __version__
from tap_dynamodb.about import render_about
from tap_dynamodb.settings import CAPABILITIES, SECRET_KEYS, SETTINGS, Config, parse_config

REPO = Path(__file__).resolve().parents[2]
MELTANO_KINDS = {"string", "integer", "decimal", "boolean", "array", "object", "options"}


def _meltano() -> dict:
    return yaml.safe_load((REPO / "meltano.yml").read_text())


def _plugin(kind: str, name: str) -> dict:
    return next(p for p in _meltano()["plugins"][kind] if p["name"] == name)


def test_every_config_key_is_a_documented_setting():
    fields = {f.name for f in dataclasses.fields(Config)} - {"raw"}
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    # use_local_dynamo is Stitch's switch that becomes endpoint_url, so it has no field of its own
    assert set(names) == fields | {"use_local_dynamo"}


def test_meltano_tap_is_a_custom_plugin_with_every_setting():
    tap = _plugin("extractors", "tap-dynamodb")
    assert "variant" not in tap
    assert (tap["namespace"], tap["pip_url"], tap["executable"]) == ("tap_dynamodb", "-e .", "tap-dynamodb")
    assert set(tap["capabilities"]) == set(CAPABILITIES) >= {"catalog", "discover", "state", "about"}
    text = (REPO / "meltano.yml").read_text()
    assert settings_docs.with_block(text) == text, "meltano.yml is stale: run python -m devtools.settings_docs"
    by_name = {s["name"]: s for s in tap["settings"]}
    assert list(by_name) == [s.name for s in SETTINGS]
    for setting in SETTINGS:
        entry = by_name[setting.name]
        kind = "options" if setting.choices else setting.kind
        assert entry["kind"] == kind and entry["kind"] in MELTANO_KINDS, setting.name
        assert entry["label"] == setting.label and entry["description"] == setting.description, setting.name
        assert entry.get("sensitive", False) == (setting.name in SECRET_KEYS), setting.name
        assert entry.get("value") == setting.default, setting.name  # Meltano shows it as the default
        assert [o["value"] for o in entry.get("options", [])] == list(setting.choices), setting.name
    assert tap["settings_group_validation"] == [["region_name"]]  # how Meltano knows what is required


def test_meltano_defaults_are_the_safe_ones():
    """Index views only when asked for; LOG_BASED wherever a table's stream allows it."""
    tap = _plugin("extractors", "tap-dynamodb")
    assert tap["select"] == ["*.*", "!*:*.*"]
    assert tap["config"] == {"default_replication_method": "LOG_BASED"}


def test_meltano_loader_is_custom_and_needs_no_hub():
    target = _plugin("loaders", "target-jsonl")
    assert "variant" not in target
    assert (target["namespace"], target["pip_url"], target["executable"]) == (
        "target_jsonl",
        "target-jsonl",
        "target-jsonl",
    )
    assert {s["name"] for s in target["settings"]} >= {"destination_path", "do_timestamp_file"}
    assert _meltano()["send_anonymous_usage_stats"] is False


def test_meltano_files_are_git_ignored():
    ignored = set((REPO / ".gitignore").read_text().split())
    assert {".meltano/", "/output/"} <= ignored
    assert {".test-cache", ".test-cache/"} & ignored  # without the slash it also covers a symlink to a shared cache


def test_lists_accept_meltanos_json_in_env_form():
    config = parse_config(
        {"region_name": "us-east-1", "tables": '["orders", "users_*"]', "exclude_tables": '["users_tmp"]'}
    )
    assert config.tables == ["orders", "users_*"]
    assert config.exclude_tables == ["users_tmp"]


def test_about_json_lists_version_capabilities_and_settings():
    info = json.loads(render_about("json"))
    assert (info["name"], info["version"]) == ("tap-dynamodb", __version__)
    assert info["capabilities"] == list(CAPABILITIES)
    properties = info["settings"]["properties"]
    assert list(properties) == [s.name for s in SETTINGS]
    assert info["settings"]["required"] == ["region_name"]
    assert properties["aws_secret_access_key"]["secret"] is True
    assert "secret" not in properties["region_name"]
    assert properties["tables"]["items"] == {"type": "string"}


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_about_text_forms_name_every_setting(fmt):
    text = render_about(fmt)
    assert __version__ in text
    for setting in SETTINGS:
        assert setting.name in text


def test_cli_about_and_version_need_no_config():
    about = subprocess.run(
        [sys.executable, "-m", "tap_dynamodb", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(about.stdout)["name"] == "tap-dynamodb"
    version = subprocess.run(
        [sys.executable, "-m", "tap_dynamodb", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"tap-dynamodb {__version__}"
    bad = subprocess.run(
        [sys.executable, "-m", "tap_dynamodb", "--about", "--format", "yaml"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--format" in bad.stderr


def _readme_settings_rows() -> dict:
    """`key` → default cell of the README's settings table (a row may name several keys)."""
    rows = {}
    for line in (REPO / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for name in cells[0].replace("`", "").split(","):
                rows[name.strip()] = cells[1]
    return rows


def test_readme_settings_table_lists_every_setting_with_its_default():
    rows = _readme_settings_rows()
    for setting in SETTINGS:
        assert setting.name in rows, f"README's settings table lacks {setting.name}"
        if setting.default is not None:
            shown = setting.default if isinstance(setting.default, str) else json.dumps(setting.default)
            shown = shown.removesuffix(".0")
            assert shown in rows[setting.name], (setting.name, rows[setting.name])
