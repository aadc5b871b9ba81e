"""Separate venvs for tools whose pins fight the main one (pulumi-policy pins protobuf 5, checkov its own world).

`./run.sh test` creates them first; a test that finds one missing creates it the same way (slow, but a
fresh clone must work with plain pytest too). Missing tools are a failure, never a skip.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from policy_fixtures import ROOT

VENVS = {
    # name: pip arguments. mlinfra is installed editable so the pack runs the checkout's rules.
    ".venv-policy": ["-e", str(ROOT), "pulumi-policy>=1.13,<2", "pytest"],
    ".venv-checkov": ["checkov>=3.2,<4"],
}


def tool_python(name: str) -> Path:
    """The python of a tool venv under the checkout, created and installed on first use."""
    venv = ROOT / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *VENVS[name]], check=True)
        marker.touch()
    return python
