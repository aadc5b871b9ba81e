"""The policy pack installs as docs/security.md says, run from the repository root."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _documented_commands() -> list[str]:
    text = (ROOT / "docs" / "security.md").read_text()
    section = text[text.index("## The policy pack"):]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block is not None
    return [line[2:] for line in block.group(1).splitlines() if line.startswith("$ ")]


def test_the_documented_install_resolves_the_checkout_from_the_repository_root(tmp_path):
    commands = _documented_commands()
    install = next(c for c in commands if "pip install" in c)
    # The documented line, with this interpreter's pip for the pack's venv and a dry run (nothing installed,
    # nothing fetched beyond metadata): the editable `-e ..` must resolve to this checkout.
    command = install.replace("venv/bin/pip install", f"{sys.executable} -m pip install --dry-run --no-deps")
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, check=False,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Would install .*mlinfra", result.stdout), result.stdout


def test_the_pack_runs_in_the_venv_the_docs_create():
    commands = _documented_commands()
    venv = next(c for c in commands if "-m venv" in c).split()[-1]
    pack = yaml.safe_load((ROOT / "policy-pack" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
    assert Path("policy-pack", pack["runtime"]["options"]["virtualenv"]) == Path(venv)
