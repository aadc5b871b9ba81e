"""Every example renders offline, validates, and matches its golden render (regenerate: MLINFRA_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from mlinfra.offline.render import render_stack, write_tree
from mlinfra.offline.validate import validate_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/Pulumi.yaml"))
# What a golden keeps: the full resource list and the summary (plus capacity.json for platform examples).
GOLDEN_FILES = ("resources.json", "summary.md", "capacity.json")
UPDATE = os.environ.get("MLINFRA_UPDATE_GOLDEN") == "1"


def _stack(example: Path) -> str:
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in example.glob("Pulumi.*.yaml"))
    assert len(stacks) == 1, f"{example.name}: an example has exactly one stack config, found {stacks}"
    return stacks[0]


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.name)
def rendered(request, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    example = request.param
    files, _ = render_stack(_stack(example), project_dir=example)
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


def test_team_stack_fixture_matches_what_the_dev_platform_exports():
    """The offline stand-in for the platform's outputs must say what `stacks/Pulumi.dev.yaml` really exports."""
    from mlinfra.k8s.scheduling import cluster_outputs, queue_name
    from mlinfra.offline.render import read_stack_config
    from mlinfra.spec import load_environment
    from mlinfra.spec.resolve import resolve_cluster_pools

    fixture = yaml.safe_load((ROOT / "examples" / "team-stack" / "offline-outputs.yaml").read_text())
    outputs = fixture["acme/mlinfra/dev"]["outputs"]
    env = load_environment(read_stack_config("dev", project_dir=ROOT).platform())
    assert outputs["environment"] == env.environment
    assert outputs["teams"] == {
        t.name: {"cluster": t.cluster, "namespace": t.namespace_name, "queue": queue_name(t),
                 "scheduler": env.cluster(t.cluster).scheduler}
        for t in env.scheduling.teams
    }
    for cluster in env.clusters:
        pools = resolve_cluster_pools(cluster)
        exported = outputs["clusters"][cluster.name]
        for key, value in cluster_outputs(env, cluster, pools).items():
            assert exported[key] == value, f"clusters.{cluster.name}.{key}"
        assert exported["pools"] == {
            p.name: {"labels": p.labels, "resources_per_node": p.resources_per_node()} for p in pools
        }
