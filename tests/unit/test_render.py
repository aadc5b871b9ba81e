"""`mlinfra render`: the real stack program under the mock runtime, deterministic output, no half renders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.offline.render import build_render, clean, read_stack_config, render_environment, render_stack
from mlinfra.spec import SpecError

ROOT = Path(__file__).resolve().parents[2]
MLINFRA = [sys.executable, "-m", "mlinfra.cli"]


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_render_dev_twice_gives_identical_trees(tmp_path):
    for out in ("a", "b"):
        result = subprocess.run([*MLINFRA, "render", "--stack", "dev", "--out", str(tmp_path / out)],
                                cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "## GPU pools" in result.stdout
        assert "| l4-shared | gke | gcp | L4-24GB | 1 | 0 | 3 | spot |" in result.stdout
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b
    assert {"resources.json", "summary.md"} <= set(a)
    assert str(tmp_path).encode() not in b"".join(a.values()), "render output must not embed local paths"


def test_resources_json_records_type_name_parent_provider_inputs(tmp_path):
    files, _ = render_stack("dev", tmp_path / "out")
    resources = json.loads(files["resources.json"])
    assert resources == sorted(resources, key=lambda r: (r["type"], r["name"], r["parent"] or ""))
    by_type = {r["type"]: r for r in resources}
    pool = by_type["gcp:container/nodePool:NodePool"]
    assert pool["parent"] == "gke-l4-shared"
    assert pool["provider"] == "gke-gcp"
    # Integers arrive from the mock runtime as floats; the render gives them back as ints.
    assert pool["inputs"]["autoscaling"] == {"locationPolicy": "ANY", "totalMaxNodeCount": 3, "totalMinNodeCount": 0}
    assert by_type["pulumi:providers:kubernetes"]["inputs"]["kubeconfig"] == "[secret]"
    assert by_type["mlinfra:index:Platform"]["parent"] is None


def _project_with(tmp_path: Path, platform: dict) -> Path:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "__main__.py", project / "stacks" / "__main__.py")
    (project / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": {"mlinfra:platform": platform}}))
    return project


def test_invalid_spec_exits_non_zero_lists_every_problem_and_writes_nothing(tmp_path):
    dev = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["mlinfra:platform"]
    dev["clusters"][0]["pools"][0].update(min_nodes=9, machine_type="g2-standard-5", gpus_per_node=0.5)
    project = _project_with(tmp_path, dev)
    out = tmp_path / "out"
    result = subprocess.run([*MLINFRA, "render", "--stack", "bad", "--project", str(project), "--out", str(out)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "the environment spec has 3 problem(s)" in result.stderr
    for path in ("pools[0].min_nodes", "pools[0].machine_type", "pools[0].gpus_per_node"):
        assert f"clusters[0].{path}" in result.stderr
    assert not out.exists()
    with pytest.raises(SpecError):
        render_stack("bad", out, project_dir=project)


def test_a_refused_render_marks_the_previous_tree_refused(tmp_path):
    out = tmp_path / "out"
    render_stack("dev", out)
    assert (out / "resources.json").is_file()
    dev = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["mlinfra:platform"]
    dev["clusters"][0]["pools"][0]["max_nodes"] = 0
    with pytest.raises(SpecError):
        render_stack("bad", out, project_dir=_project_with(tmp_path, dev))
    # Nothing that looks like a render is left: validate, check and diff all fail on the folder.
    assert sorted(p.name for p in out.iterdir()) == ["REFUSED.md"]
    assert "max_nodes" in (out / "REFUSED.md").read_text()
    for command in (["validate", str(out)], ["check", str(out)]):
        result = subprocess.run([*MLINFRA, *command], capture_output=True, text=True, check=False)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "refused" in result.stdout + result.stderr


def test_a_render_replaces_the_tree_and_leaves_no_temporary_folders(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "resources.json").write_text("[]")
    (out / "stale.yaml").write_text("x: 1")
    render_stack("dev", out)
    assert not (out / "stale.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("content", [
    None,                      # a file
    "folder",                  # a folder with something that is not a render
])
def test_an_out_folder_that_is_not_a_render_is_never_replaced(tmp_path, content):
    out = tmp_path / "mine"
    if content is None:
        out.write_text("keep me")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("keep me")
    result = subprocess.run([*MLINFRA, "render", "--stack", "dev", "--out", str(out)], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert "--out: exists and is not a render" in result.stderr and "Traceback" not in result.stderr
    assert (out if content is None else out / "notes.txt").read_text() == "keep me"


def test_a_project_folder_that_does_not_exist_is_an_error_not_another_project(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([*MLINFRA, "render", "--stack", "dev", "--project", str(tmp_path / "nope"),
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "--project: no such folder" in result.stderr and str(tmp_path / "nope") in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("layout", ["empty folder", "folder without Pulumi.yaml"])
def test_render_outside_a_pulumi_project_is_a_clear_error(tmp_path, layout):
    here = tmp_path / "work"
    here.mkdir()
    if layout != "empty folder":
        (here / "stacks").mkdir()
        (here / "stacks" / "Pulumi.dev.yaml").write_text("config: {}\n")
    result = subprocess.run([*MLINFRA, "render", "--stack", "dev"], cwd=here, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    assert "not inside a Pulumi project" in result.stderr and "Traceback" not in result.stderr
    assert list(here.rglob("resources.json")) == []


INVALID_STACK_FILES = [
    ("unclosed flow list", "config:\n  mlinfra:platform:\n    clusters: [\n  - name: x\n", ":4:"),
    ("tab indentation", "config:\n\tmlinfra:platform: {}\n", ":2:"),
    ("mapping in a scalar", "config:\n  mlinfra:platform: environment: dev\n", ":2:"),
    ("duplicate anchor alias", "config:\n  a: *nothing\n", ":2:"),
    ("config is a list", "config:\n  - mlinfra:platform\n", ":config"),
    ("file is a list", "- config\n", ":config"),
]


@pytest.mark.parametrize(("case", "text", "where"), INVALID_STACK_FILES, ids=[c[0] for c in INVALID_STACK_FILES])
def test_a_stack_file_that_is_not_valid_yaml_is_refused_cleanly(tmp_path, case, text, where):
    project = _project_with(tmp_path, {})
    (project / "stacks" / "Pulumi.bad.yaml").write_text(text)
    result = subprocess.run([*MLINFRA, "render", "--stack", "bad", "--project", str(project),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Pulumi.bad.yaml{where}" in result.stderr.replace("Pulumi.bad.yaml has", "")
    assert "(got " in result.stderr


def test_unknown_stack_is_a_usage_error(tmp_path):
    result = subprocess.run([*MLINFRA, "render", "--stack", "nope", "--out", str(tmp_path / "o")],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "--stack: no stack config" in result.stderr and "dev" in result.stderr and "(got 'nope')" in \
        result.stderr


def test_render_environment_renders_a_spec_dict_in_process():
    platform = {"environment": "t", "clusters": [{"name": "c", "cloud": "gcp", "endpoint": DEPLOYERS,
                                                  "region": "europe-west4",
                                                   "project": "p", "pools": [{"name": "h", "gpu": "H100-80GB",
                                                                              "max_nodes": 2,
                                                                              "mig": {"profiles": {"1g.10gb": 7}}}]}]}
    resources = json.loads(render_environment(platform)["resources.json"])
    pool = next(r for r in resources if r["type"] == "gcp:container/nodePool:NodePool")
    accelerator = pool["inputs"]["nodeConfig"]["guestAccelerators"][0]
    assert accelerator["type"] == "nvidia-h100-80gb"
    assert accelerator["gpuPartitionSize"] == "1g.10gb"


@pytest.mark.parametrize("collector_on", [True, False])
def test_run_program_leaves_the_collector_as_the_caller_had_it(collector_on):
    # `mlinfra render` turns the collector off for the whole command; a run must not turn it back on (the
    # deferred collection would then cost what turning it off saves). Library callers keep theirs on.
    import gc

    from mlinfra.offline.render import StackConfig, run_program

    was = gc.isenabled()
    (gc.enable if collector_on else gc.disable)()
    try:
        import pulumi

        records = run_program(lambda: pulumi.ComponentResource("t:i:C", "c"), StackConfig("p", "s", {}, []))
        assert gc.isenabled() is collector_on
    finally:
        (gc.enable if was else gc.disable)()
    assert [r.type for r in records] == ["t:i:C"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (8.0, 8),
        (0.5, 0.5),
        ({"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "pw"}, "[secret]"),
        ({"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": {"pw": "x", "a": "y"}},
         {"a": "[secret]", "pw": "[secret]"}),
        ({"b": [1.0, {"__internal": 1, "a": 2.0}]}, {"b": [1, {"a": 2}]}),
        ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "[unknown]"),
    ],
)
def test_clean_normalises_recorded_values(value, expected):
    assert clean(value) == expected


def test_build_render_places_manifests_and_helm_releases_by_cluster():
    class Reg:
        def __init__(self, urn, type_, name, inputs, provider=""):
            self.urn, self.type, self.name, self.inputs = urn, type_, name, inputs
            self.provider_ref, self.parent_urn, self.custom = provider, "", True

    provider = Reg("urn:p", "pulumi:providers:kubernetes", "edge-k8s", {})
    cm = Reg("urn:cm", "kubernetes:core/v1:ConfigMap", "cm",
             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf", "namespace": "ops"},
              "data": {"a": "b"}}, "urn:p::edge-k8s-id")
    ns = Reg("urn:ns", "kubernetes:core/v1:Namespace", "ns",
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}}, "urn:p::edge-k8s-id")
    release = Reg("urn:r", "kubernetes:helm.sh/v3:Release", "rel",
                  {"name": "kueue", "chart": "kueue", "version": "0.19.2", "namespace": "kueue-system",
                   "repositoryOpts": {"repo": "oci://x"}, "values": {"a": 1.0}}, "urn:p::edge-k8s-id")
    files = build_render([provider, cm, ns, release])
    assert yaml.safe_load(files["manifests/edge/ops/ConfigMap-conf.yaml"])["data"] == {"a": "b"}
    assert "manifests/edge/_cluster/Namespace-ops.yaml" in files
    assert yaml.safe_load(files["helm/edge/kueue.yaml"]) == {
        "chart": "kueue", "repository": "oci://x", "version": "0.19.2", "namespace": "kueue-system",
        "values": {"a": 1},
    }


def test_spec_warnings_reach_the_summary_and_the_preview_log(tmp_path):
    platform = {"environment": "w", "clusters": [{
        "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
        "network": {"vpc_id": "vpc-0a1b2c", "subnet_ids": ["subnet-0a1", "subnet-0b2"]},
        "pools": [{"name": "l4-spot", "instance_types": ["g6.12xlarge"], "max_nodes": 2, "spot": True}]}]}
    project = _project_with(tmp_path, platform)
    result = subprocess.run([*MLINFRA, "render", "--stack", "bad", "--project", str(project),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert ("## Warnings\n\n- `clusters[0].pools[0].instance_types`: a spot GPU pool with one instance type"
            in result.stdout)
    # The stack program logs it through pulumi.log.warn, which is what `pulumi preview` shows.
    assert "warning: clusters[0].pools[0].instance_types: a spot GPU pool" in result.stderr


def test_load_environment_emits_warnings_as_python_warnings_by_default():
    from mlinfra.spec import SpecWarning, load_environment

    platform = {"environment": "w", "clusters": [{
        "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
        "pools": [{"name": "p", "instance_types": ["g6.12xlarge"], "max_nodes": 1, "spot": True}]}]}
    with pytest.warns(SpecWarning, match="spot GPU pool with one instance type"):
        load_environment(platform)
    seen = []
    load_environment(platform, on_warning=seen.append)
    assert [p.path for p in seen] == ["clusters[0].pools[0].instance_types"]


def test_outputs_json_is_what_the_platform_exports_with_secrets_masked(tmp_path):
    files, _ = render_stack("staging", tmp_path / "out")
    doc = json.loads(files["outputs.json"])
    assert (doc["project"], doc["stack"]) == ("mlinfra", "staging")
    assert sorted(doc["outputs"]) == ["clusters", "environment", "teams"]
    # The kubeconfigs are secrets: masked, and the output that holds them is marked secret as the service does.
    assert doc["secret_output_names"] == ["clusters"]
    assert {c["kubeconfig"] for c in doc["outputs"]["clusters"].values()} == {"[secret]"}
    assert str(tmp_path) not in files["outputs.json"]
    env = read_stack_config("staging", project_dir=ROOT).platform()
    teams = {t["name"]: t for t in env["scheduling"]["teams"]}
    assert sorted(doc["outputs"]["teams"]) == sorted(teams)
    for name, team in doc["outputs"]["teams"].items():
        (cluster_name,) = team["clusters"]
        assert cluster_name == teams[name]["cluster"]
        cluster = next(c for c in env["clusters"] if c["name"] == cluster_name)
        where = team["clusters"][cluster_name]
        assert where["scheduler"] == cluster.get("scheduler", "kueue")
        # Per GPU class, the same queue names in the team's and in the cluster's outputs.
        assert where["queues"]
        assert doc["outputs"]["clusters"][cluster_name]["queues"][team["namespace"]] == where["queues"]


def test_readme_platform_program_is_the_real_one():
    """The README shows stacks/__main__.py whole, so a platform program copied from it exports `teams`."""
    readme = (ROOT / "README.md").read_text()
    program = (ROOT / "stacks" / "__main__.py").read_text()
    assert f"```python\n{program}```" in readme
