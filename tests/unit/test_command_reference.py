"""The generated references (native commands, EC2 coverage) must not go stale."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_command_reference_is_current():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "command_reference.py"), "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "docs/native-api-commands.md is stale: run python scripts/command_reference.py"


def test_ec2_coverage_table_is_current():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "ec2_coverage.py"), "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "docs/ec2-coverage.md is stale: run python scripts/ec2_coverage.py"
