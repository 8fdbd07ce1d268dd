"""`tap-dynamodb --about`: what the tap is and which settings it takes, as text, JSON or Markdown.

The JSON form follows the Singer SDK's (name, description, version, capabilities, settings
as a JSON schema), which is what Meltano and its Hub read from taps.
"""

from __future__ import annotations

import json
from typing import Any

from . import __version__
from .settings import CAPABILITIES, SETTINGS, settings_schema

NAME = "tap-dynamodb"
DESCRIPTION = "Singer tap for Amazon DynamoDB: parallel FULL_TABLE scans and LOG_BASED DynamoDB Streams"
FORMATS = ("text", "json", "markdown")


def about_info() -> dict[str, Any]:
    return {
        "name": NAME,
        "description": DESCRIPTION,
        "version": __version__,
        "capabilities": list(CAPABILITIES),
        "settings": settings_schema(),
    }


def _text() -> str:
    lines = [
        f"Name: {NAME}",
        f"Description: {DESCRIPTION}",
        f"Version: {__version__}",
        f"Capabilities: {', '.join(CAPABILITIES)}",
        "Settings:",
    ]
    width = max(len(s.name) for s in SETTINGS)
    for s in SETTINGS:
        flags = ", ".join(
            f for f in (s.kind, "required" if s.required else "", "sensitive" if s.sensitive else "") if f
        )
        lines.append(f"  {s.name:<{width}}  ({flags}) {s.description}")
    return "\n".join(lines)


def _markdown() -> str:
    lines = [f"# {NAME}", "", DESCRIPTION, "", f"Version: {__version__}", "", "## Capabilities", ""]
    lines += [f"* `{c}`" for c in CAPABILITIES]
    lines += [
        "",
        "## Settings",
        "",
        "| Setting | Kind | Required | Default | Description |",
        "|:--------|:-----|:--------:|:--------|:------------|",
    ]
    for s in SETTINGS:
        default = "" if s.default is None else f"`{json.dumps(s.default)}`"
        secret = " (sensitive)" if s.sensitive else ""
        lines.append(f"| `{s.name}` | {s.kind} | {'yes' if s.required else ''} | {default} | {s.description}{secret} |")
    return "\n".join(lines)


def render_about(fmt: str = "text") -> str:
    """The about text in one of FORMATS."""
    if fmt == "json":
        return json.dumps(about_info(), indent=2)
    if fmt == "markdown":
        return _markdown()
    return _text()
