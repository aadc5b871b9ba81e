"""docs/running.md: the plugin versions it installs are the locked SDKs' plugins; the README links it."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNING = (ROOT / "docs" / "running.md").read_text()
LOCK = dict(line.split("==") for line in (ROOT / "requirements.lock").read_text().splitlines()
            if "==" in line and not line.startswith("#"))
SDKS = ["pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random"]


@pytest.mark.parametrize("sdk", SDKS)
def test_plugin_install_lines_match_the_lock_and_the_installed_sdk(sdk):
    plugin = json.loads(files(sdk).joinpath("pulumi-plugin.json").read_text())
    # The plugin an SDK asks for has the SDK's own version, pinned in requirements.lock.
    assert plugin["version"] == LOCK[sdk]
    assert f"pulumi plugin install resource {plugin['name']} {LOCK[sdk]}\n" in RUNNING


def test_every_plugin_line_names_a_locked_sdk():
    lines = re.findall(r"pulumi plugin install resource (\S+) (\S+)", RUNNING)
    assert sorted(name for name, _ in lines) == ["aws", "gcp", "kubernetes", "random"]


def test_cli_floor_is_the_locked_sdk():
    assert f"(today {LOCK['pulumi']})" in RUNNING


def test_readme_links_running_md():
    assert "[docs/running.md](docs/running.md)" in (ROOT / "README.md").read_text()


def test_endpoint_fields_named_in_the_doc_are_the_spec_fields():
    from mlinfra.spec.clusters import EndpointAccess

    named = set(re.findall(r"endpoint\.(\w+)", RUNNING))
    assert named and named <= set(EndpointAccess.model_fields), named - set(EndpointAccess.model_fields)


def test_readme_quick_start_is_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["./run.sh", "./run.sh test"]
