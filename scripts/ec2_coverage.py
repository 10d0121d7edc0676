"""Write docs/ec2-coverage.md from the registered EC2 actions (``--check`` to verify it is current)."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ec2bridge.actions import ACTIONS  # noqa: E402
from ec2bridge.codec import service_model  # noqa: E402

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "ec2-coverage.md")


def render() -> str:
    model = service_model()
    out = ["# EC2 API coverage", "",
           "Generated from `ec2bridge/actions/` by `python scripts/ec2_coverage.py`; do not edit by hand.", "",
           f"{len(ACTIONS)} of the {len(model.operation_names)} operations of botocore's EC2 model "
           f"({model.metadata['apiVersion']}) are implemented; every other one answers `UnsupportedOperation` "
           "naming the action. `sts:GetCallerIdentity` is answered on the same endpoint.", "",
           "| action | notes |", "|---|---|"]
    for name in sorted(ACTIONS):
        doc = (ACTIONS[name].__doc__ or "").strip().splitlines()
        out.append(f"| `{name}` | {doc[0] if doc else ''} |")
    out += ["", "## Filters", "",
            "Each `Describe*` below accepts these filter names (with `*` and `?` wildcards); any other name "
            "answers `InvalidParameterValue` (`The filter 'NAME' is invalid`).", ""]
    for name in sorted(ACTIONS):
        declared = getattr(ACTIONS[name], "filters", None)
        if declared is not None:
            out.append(f"- `{name}`: " + ", ".join(f"`{f}`" for f in declared.names()))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        current = open(PATH).read() if os.path.exists(PATH) else ""
        sys.exit(0 if current == text else 1)
    with open(PATH, "w") as fh:
        fh.write(text)
