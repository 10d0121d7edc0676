"""Write docs/native-api-commands.md from the command registry (``--check`` to verify it is current)."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from native_api import commands  # noqa: E402,F401  (registers every command)
from native_api.registry import REGISTRY  # noqa: E402

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "native-api-commands.md")


def render() -> str:
    out = ["# Native API command reference", "",
           "Generated from the command declarations in `native_api/commands/` by "
           "`python scripts/command_reference.py`; do not edit by hand.", "",
           "| command | async | roles | response | description |", "|---|---|---|---|---|"]
    for cmd in sorted(REGISTRY.values(), key=lambda c: c.name.lower()):
        roles = "all" if len(cmd.roles) == 4 else ", ".join(sorted(cmd.roles))
        out.append(f"| `{cmd.name}` | {'yes' if cmd.isasync else 'no'} | {roles} | "
                   f"{cmd.object_name or cmd.shape} | {cmd.description.splitlines()[0] if cmd.description else ''} |")
    out += ["", "## Parameters", ""]
    for cmd in sorted(REGISTRY.values(), key=lambda c: c.name.lower()):
        out.append(f"### {cmd.name}")
        out.append("")
        if not cmd.params:
            out += ["(none)", ""]
            continue
        for name, field in cmd.params.items():
            req = " **required**" if field.required else ""
            out.append(f"- `{name}` ({field.cs_type}){req}: {field.description}")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        current = open(PATH).read() if os.path.exists(PATH) else ""
        sys.exit(0 if current == text else 1)
    os.makedirs(os.path.dirname(PATH), exist_ok=True)
    with open(PATH, "w") as fh:
        fh.write(text)
