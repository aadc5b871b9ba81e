"""Every example renders offline, validates, and matches its golden render (regenerate: MLINFRA_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from mlinfra.offline.render import StackOutputError, read_stack_config, render_stack, write_tree
from mlinfra.offline.validate import validate_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/Pulumi.yaml"))
# What a golden keeps: the full resource list, the stack's outputs and the summary (plus capacity.json for
# platform examples).
GOLDEN_FILES = ("resources.json", "outputs.json", "summary.md", "capacity.json")
UPDATE = os.environ.get("MLINFRA_UPDATE_GOLDEN") == "1"


def _stack(example: Path) -> str:
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in example.glob("Pulumi.*.yaml"))
    assert len(stacks) == 1, f"{example.name}: an example has exactly one stack config, found {stacks}"
    return stacks[0]


def _referenced_platform_stack(example: Path) -> str | None:
    """The platform stack a team stack names in its `platformStack` config (`acme/mlinfra/dev` -> `dev`)."""
    config = read_stack_config(_stack(example), project_dir=example)
    refs = [v for k, v in config.values.items() if k.endswith(":platformStack")]
    return refs[0].split("/")[-1] if refs else None


@pytest.fixture(scope="module")
def platform_renders(tmp_path_factory) -> dict[str, Path]:
    """The platform stacks rendered on demand (`stacks/Pulumi.<name>.yaml`), as a team stack's reference reads."""
    made: dict[str, Path] = {}

    def get(stack: str) -> Path:
        if stack not in made:
            out = tmp_path_factory.mktemp(f"platform-{stack}") / "render"
            render_stack(stack, out, project_dir=ROOT)
            made[stack] = out
        return made[stack]

    return get  # type: ignore[return-value]


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.name)
def rendered(request, tmp_path_factory, platform_renders) -> tuple[Path, dict[str, str], Path]:
    example = request.param
    platform = _referenced_platform_stack(example)
    renders = [platform_renders(platform)] if platform else []
    files, _ = render_stack(_stack(example), project_dir=example, platform_renders=renders)
    out = tmp_path_factory.mktemp(example.name)
    write_tree(out / "render", files)
    return example, files, out / "render"


def test_there_are_examples():
    assert {p.name for p in EXAMPLES} >= {"team-stack", "mig-inference-gke", "spot-training-eks"}


def test_example_matches_golden(rendered):
    example, files, _ = rendered
    golden = example / "golden"
    if UPDATE:
        golden.mkdir(exist_ok=True)
        for name in GOLDEN_FILES:
            if name in files:
                (golden / name).write_text(files[name])
    for name in GOLDEN_FILES:
        path = golden / name
        if name not in files:
            assert not path.exists(), f"{path} is stale: the render no longer has {name}"
            continue
        assert path.exists(), f"{path} missing; run MLINFRA_UPDATE_GOLDEN=1 pytest tests/examples"
        assert files[name] == path.read_text(), (
            f"{example.name}: {name} differs from its golden; if the change is intended, "
            "run MLINFRA_UPDATE_GOLDEN=1 pytest tests/examples and review the golden diff"
        )


def test_example_validates(rendered, upstream):
    _, _, out = rendered
    report = validate_dir(out, crds_dir=upstream)
    assert report.ok, report.format()
    assert report.objects > 0


def test_example_has_kubernetes_workloads(rendered):
    example, files, _ = rendered
    kinds = {yaml.safe_load(text)["kind"] for path, text in files.items() if path.startswith("manifests/")}
    assert kinds & {"Job", "Deployment"}, f"{example.name} renders no workload"


def test_team_stack_reads_the_real_platform_outputs(platform_renders):
    """The team stack's namespace and queue come from the dev platform's render, not from a fixture."""
    files, _ = render_stack("dev", project_dir=ROOT / "examples" / "team-stack",
                            platform_renders=[platform_renders("dev")])
    platform = json.loads((platform_renders("dev") / "outputs.json").read_text())
    team = platform["outputs"]["teams"]["research"]
    # dev's only pool shares its L4s by time-slicing: the team stack's training class is `shared`.
    queue = team["clusters"]["gke"]["queues"]["shared"]
    assert queue == "research-shared"
    assert json.loads(files["outputs.json"])["outputs"] == {"namespace": team["namespace"], "queue": queue}
    job = next(yaml.safe_load(text) for path, text in files.items() if "/Job-" in path)
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == queue
    deployment = next(yaml.safe_load(text) for path, text in files.items() if "/Deployment-" in path)
    terms = deployment["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == team["clusters"]["gke"]["gpu_classes"]["shared"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # The platform render lacks an output the team stack requires: the error names the stack and the key.
        (lambda doc: doc["outputs"].pop("teams"),
         "stack output 'teams' not found: stack acme/mlinfra/dev exports clusters, environment"),
        # It exports teams, but not this team.
        (lambda doc: doc["outputs"]["teams"].pop("research"),
         "stack output 'research' not found: stack acme/mlinfra/dev exports clusters, environment, teams"),
        # A render of another stack does not answer the reference.
        (lambda doc: doc.update(stack="prod"),
         "no outputs for stack reference acme/mlinfra/dev: pass --platform-render DIR"),
    ],
)
def test_team_stack_refuses_missing_platform_outputs(tmp_path, platform_renders, edit, message):
    doc = json.loads((platform_renders("dev") / "outputs.json").read_text())
    edit(doc)
    (tmp_path / "outputs.json").write_text(json.dumps(doc))
    with pytest.raises(StackOutputError) as err:
        render_stack("dev", project_dir=ROOT / "examples" / "team-stack", platform_renders=[tmp_path])
    assert message in str(err.value)


def test_render_cli_answers_the_reference_from_a_platform_render(tmp_path, capsys):
    from mlinfra.offline.render import main

    assert main(["--stack", "dev", "--project", str(ROOT), "--out", str(tmp_path / "dev")]) == 0
    team = ["--stack", "dev", "--project", str(ROOT / "examples" / "team-stack"), "--out", str(tmp_path / "team")]
    assert main(team) == 1
    assert "no outputs for stack reference acme/mlinfra/dev" in capsys.readouterr().err
    assert main([*team, "--platform-render", str(tmp_path / "dev")]) == 0
    assert json.loads((tmp_path / "team" / "outputs.json").read_text())["outputs"]["queue"] == "research-shared"


def test_missing_output_is_one_line_naming_stack_and_key(tmp_path, platform_renders):
    import subprocess
    import sys

    doc = json.loads((platform_renders("dev") / "outputs.json").read_text())
    doc["outputs"].pop("teams")
    (tmp_path / "outputs.json").write_text(json.dumps(doc))
    result = subprocess.run(
        [sys.executable, "-m", "mlinfra.cli", "render", "--stack", "dev", "--project",
         str(ROOT / "examples" / "team-stack"), "--out", str(tmp_path / "team"), "--platform-render", str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr == ("mlinfra render: stack dev: stack output 'teams' not found: stack acme/mlinfra/dev "
                             "exports clusters, environment\n")
    assert not (tmp_path / "team").exists()
