"""`mlinfra diff`: field paths, the replacement table, quotas, capacity and the Markdown a reviewer reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mlinfra.offline import diff
from mlinfra.offline.render import render_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 2}, [("a", 1, 2)]),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, [("a.c", None, 2)]),
        ({"a": {"b": 1}}, {"a": {}}, [("a.b", 1, None)]),
        # Lists of scalars are compared whole: a reviewer wants to see the new instance type list.
        ({"instanceTypes": ["p5.48xlarge"]}, {"instanceTypes": ["p5e.48xlarge"]},
         [("instanceTypes", ["p5.48xlarge"], ["p5e.48xlarge"])]),
        ({"g": [{"count": 1, "type": "x"}]}, {"g": [{"count": 2, "type": "x"}]}, [("g[0].count", 1, 2)]),
        ({"g": [{"n": 1}]}, {"g": [{"n": 1}, {"n": 2}]}, [("g", [{"n": 1}], [{"n": 1}, {"n": 2}])]),
        # Keys that are not identifiers (label keys) are written in brackets.
        ({"labels": {"mlinfra.io/pool": "a"}}, {"labels": {"mlinfra.io/pool": "b"}},
         [('labels["mlinfra.io/pool"]', "a", "b")]),
        # Provider bookkeeping is not a reviewable change.
        ({"initialNodeCount": 0, "x": 1}, {"initialNodeCount": 3, "x": 1}, []),
    ],
)
def test_field_changes(before, after, expected):
    assert list(diff.field_changes(before, after)) == expected


@pytest.mark.parametrize(
    ("type_", "paths", "replace", "roll"),
    [
        # terraform-provider-google v5.10.0+ (magic-modules#9575): machine type, disk size and disk type are
        # updated in place; GKE migrates the pool's nodes (node_config.go, schemaNodeConfig: no ForceNew).
        ("gcp:container/nodePool:NodePool", ["nodeConfig.machineType"], [], ["nodeConfig.machineType"]),
        ("gcp:container/nodePool:NodePool", ["nodeConfig.diskSizeGb", "nodeConfig.diskType"], [],
         ["nodeConfig.diskSizeGb", "nodeConfig.diskType"]),
        # guest_accelerator, spot and oauth_scopes are ForceNew in schemaNodeConfig.
        ("gcp:container/nodePool:NodePool", ["nodeConfig.guestAccelerators[0].gpuPartitionSize"],
         ["nodeConfig.guestAccelerators[0].gpuPartitionSize"], []),
        ("gcp:container/nodePool:NodePool", ["nodeConfig.spot", "nodeConfig.oauthScopes[0]"],
         ["nodeConfig.spot", "nodeConfig.oauthScopes[0]"], []),
        ("gcp:container/nodePool:NodePool", ["autoscaling.maxNodeCount", 'nodeConfig.labels["a"]'], [], []),
        # A prefix must match a whole field name, not the start of another one.
        ("gcp:container/nodePool:NodePool", ["nodeConfig.machineTypeHint"], [], []),
        # terraform-provider-aws node_group.go: instance_types, ami_type, launch_template.id ForceNew;
        # labels and scaling_config through UpdateNodegroupConfig; launch_template.version rolls the nodes.
        ("aws:eks/nodeGroup:NodeGroup", ["instanceTypes", "scalingConfig.maxSize"], ["instanceTypes"], []),
        ("aws:eks/nodeGroup:NodeGroup", ["amiType"], ["amiType"], []),
        ("aws:eks/nodeGroup:NodeGroup", ["launchTemplate.id"], ["launchTemplate.id"], []),
        ("aws:eks/nodeGroup:NodeGroup", ["launchTemplate.version"], [], ["launchTemplate.version"]),
        ("aws:eks/nodeGroup:NodeGroup", ['labels["nvidia.com/mig.config"]'], [], []),
        # cluster.go: version is an in-place upgrade; subnets are in place since v5.25.0.
        ("aws:eks/cluster:Cluster", ["version", "vpcConfig.subnetIds"], [], []),
        ("aws:eks/cluster:Cluster", ["kubernetesNetworkConfig.serviceIpv4Cidr"],
         ["kubernetesNetworkConfig.serviceIpv4Cidr"], []),
        # resource_container_cluster.go: master_ipv4_cidr_block ForceNew, enable_private_endpoint not.
        ("gcp:container/cluster:Cluster", ["privateClusterConfig.masterIpv4CidrBlock"],
         ["privateClusterConfig.masterIpv4CidrBlock"], []),
        ("gcp:container/cluster:Cluster", ["privateClusterConfig.enablePrivateEndpoint"], [], []),
        ("gcp:container/cluster:Cluster", ["location"], ["location"], []),
        # Karpenter keeps the NodePool and rolls its nodes; limits do not roll anything.
        ("kubernetes:karpenter.sh/v1:NodePool", ["spec.template.spec.requirements[0].values"], [],
         ["spec.template.spec.requirements[0].values"]),
        ("kubernetes:karpenter.sh/v1:NodePool", ['spec.limits["nvidia.com/gpu"]'], [], []),
        ("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue", ["spec.resourceGroups[0]"], [], []),
    ],
)
def test_replacement_table(type_, paths, replace, roll):
    assert diff.replace_reason(type_, paths) == replace
    assert diff.roll_reason(type_, paths) == roll


def _cq(name, gpus, flavor="h100"):
    return {
        "type": "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue", "name": f"gke-{name}", "parent": "k",
        "provider": "gke-k8s",
        "inputs": {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": name},
                   "spec": {"resourceGroups": [{"flavors": [{"name": flavor, "resources": [
                       {"name": "nvidia.com/gpu", "nominalQuota": gpus}]}]}]}},
    }


def _vq(name, gpus):
    return {
        "type": "kubernetes:scheduling.volcano.sh/v1beta1:Queue", "name": f"eks-{name}", "parent": "v",
        "provider": "eks-k8s",
        "inputs": {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "metadata": {"name": name},
                   "spec": {"capability": {"nvidia.com/gpu": gpus}}},
    }


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([_cq("nlp", 8)], {("gke", "nlp", "h100/nvidia.com/gpu"): 8}),
        ([_vq("research", 16)], {("eks", "research", "capability/nvidia.com/gpu"): 16}),
        ([{"type": "aws:eks/cluster:Cluster", "name": "c", "inputs": {}}], {}),
    ],
)
def test_queue_quotas(resources, expected):
    assert diff.queue_quotas(resources) == expected


def _render(resources, capacity=None):
    return diff.Render({(r["type"], r["name"]): r for r in resources}, capacity)


def test_markdown_names_each_kind_of_change():
    pool = {"type": "gcp:container/nodePool:NodePool", "name": "gke-a-pool", "parent": "gke-a", "provider": "g",
            "inputs": {"nodeConfig": {"machineType": "a3-highgpu-8g"}}}
    moved = {**pool, "inputs": {"nodeConfig": {"machineType": "a3-megagpu-8g"}}}
    gone = {"type": "kubernetes:core/v1:Namespace", "name": "old", "parent": None, "provider": None, "inputs": {}}
    new = {**gone, "name": "new"}
    cap = {"clusters": {"gke": {"pools": {"a": {"max_gpus": 8, "resources": {"nvidia.com/gpu": 8}}}}}}
    cap2 = {"clusters": {"gke": {"pools": {"a": {"max_gpus": 16, "resources": {"nvidia.com/gpu": 16}}}}}}
    d = diff.compute_diff(_render([pool, gone, _cq("nlp", 8)], cap), _render([moved, new, _cq("nlp", 12)], cap2))
    text = diff.format_markdown(d, "stack `prod`")
    assert "### stack `prod`" in text
    assert "**1 to add, 2 to change (0 replaced), 1 to delete.**" in text
    assert ("| `gke-a-pool` (gcp:container/nodePool:NodePool) | nodes replaced (in-place update) | "
            "`nodeConfig.machineType` |") in text
    assert "| `nodeConfig.machineType` | `a3-highgpu-8g` | `a3-megagpu-8g` |" in text
    assert "| gke / `a` | 8 | 16 | +8 | nvidia.com/gpu: 8 | nvidia.com/gpu: 16 |" in text
    assert "| gke | `nlp` | `h100/nvidia.com/gpu` | `8` | `12` |" in text
    assert "- `new` (kubernetes:core/v1:Namespace)" in text.split("#### Added")[1].split("####")[0]
    assert "- `old` (kubernetes:core/v1:Namespace)" in text.split("#### Removed")[1].split("####")[0]


def test_identical_renders_say_no_changes():
    cap = {"clusters": {"gke": {"pools": {"a": {"max_gpus": 8, "resources": {"nvidia.com/gpu": 8}}}}}}
    same = [_cq("nlp", 8)]
    text = diff.format_markdown(diff.compute_diff(_render(same, cap), _render(same, cap)))
    assert "No changes." in text
    assert "**0 to add, 0 to change (0 replaced), 0 to delete.**" in text


def test_new_stack_is_all_additions(tmp_path):
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "resources.json").write_text(json.dumps([_cq("nlp", 8)]))
    (tmp_path / "head" / "capacity.json").write_text(json.dumps({"clusters": {}}))
    text = diff.diff_dirs(tmp_path / "missing", tmp_path / "head", missing_ok=True)
    assert "New stack" in text
    assert "**1 to add, 0 to change (0 replaced), 0 to delete.**" in text
    with pytest.raises(diff.RenderError, match="does not exist"):
        diff.diff_dirs(tmp_path / "missing", tmp_path / "head")


def _write_render(path: Path, resources: list, capacity: dict | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "resources.json").write_text(json.dumps(resources))
    (path / "capacity.json").write_text(json.dumps(capacity or {"clusters": {}}))
    return path


@pytest.mark.parametrize(
    ("setup", "args", "code", "message"),
    [
        # A missing render is an error unless the caller says a stack may be new or removed.
        ("head-only", [], 1, "does not exist (run `mlinfra render` first)"),
        ("head-only", ["--allow-missing"], 0, None),
        ("none", ["--allow-missing"], 1, "neither"),
        ("head-only", ["--allow-missing", "--detailed-exitcode"], 2, None),
        # A folder that exists but holds no render, or a render that is not JSON, is always an error.
        ("base-empty-dir", ["--allow-missing"], 1, "is not a render directory: "),
        ("base-bad-json", [], 1, "is not a readable render: JSONDecodeError"),
        ("same", ["--detailed-exitcode"], 0, None),
        ("changed", ["--detailed-exitcode"], 2, None),
        ("changed", [], 0, None),
        ("same", ["--detailed-exitcode", "--no-such-flag"], 1, "unrecognized arguments"),
    ],
)
def test_cli_exit_codes(tmp_path, capsys, setup, args, code, message):
    base, head = tmp_path / "base", tmp_path / "head"
    if setup != "none":
        _write_render(head, [_cq("nlp", 8)])
    if setup == "base-empty-dir":
        base.mkdir()
    elif setup == "base-bad-json":
        _write_render(base, [])
        (base / "resources.json").write_text("{not json")
    elif setup == "same":
        _write_render(base, [_cq("nlp", 8)])
    elif setup == "changed":
        _write_render(base, [_cq("nlp", 4)])
    assert diff.main([str(base), str(head), *args]) == code
    if message:
        assert message in capsys.readouterr().err


def test_long_and_multi_line_values_are_line_diffs_never_cut():
    # The part that changes sits after the first 80 characters and on a later line: both must show.
    rules = "\n".join(f"- alert: GpuAlert{i}\n  expr: avg(DCGM_FI_DEV_GPU_UTIL) by (pool) < {i}" for i in range(6))
    cm = {"type": "kubernetes:core/v1:ConfigMap", "name": "rules", "parent": None, "provider": "gke-k8s",
          "inputs": {"kind": "ConfigMap", "data": {"rules.yaml": rules, "note": "x" * 100 + "-a"}}}
    cm2 = {**cm, "inputs": {"kind": "ConfigMap",
                            "data": {"rules.yaml": rules.replace("< 4", "< 40"), "note": "x" * 100 + "-b"}}}
    text = diff.format_markdown(diff.compute_diff(_render([cm]), _render([cm2])))
    body = text.split("#### Changed")[1]
    assert "-  expr: avg(DCGM_FI_DEV_GPU_UTIL) by (pool) < 4\n+  expr: avg(DCGM_FI_DEV_GPU_UTIL) by (pool) < 40" in body
    assert "-" + "x" * 100 + "-a\n+" + "x" * 100 + "-b" in body
    assert "..." not in body


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("a|b", "`a\\|b`"),
        # CommonMark: a longer fence holds the backticks, a space pads a value that ends with one.
        ("uses `kubectl`", "`` uses `kubectl` ``"),
        ("a `b` c", "``a `b` c``"),
        (8, "`8`"),
        (None, "`(none)`"),
        (["p5.48xlarge", "p5e.48xlarge"], '`["p5.48xlarge", "p5e.48xlarge"]`'),
    ],
)
def test_cells_show_values_as_they_are(value, cell):
    assert diff._cell(value) == cell


# --- an edited copy of the prod stack: what a reviewer of that pull request sees ---------------------------


def _project_copy(tmp_path: Path, name: str, stack: str = "prod") -> Path:
    root = tmp_path / name
    (root / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "__main__.py", root / "stacks" / "__main__.py")
    shutil.copy(ROOT / "stacks" / f"Pulumi.{stack}.yaml", root / "stacks" / f"Pulumi.{stack}.yaml")
    return root


def _edit_prod(root: Path) -> None:
    path = root / "stacks" / "Pulumi.prod.yaml"
    doc = yaml.safe_load(path.read_text())
    gke = next(c for c in doc["config"]["mlinfra:platform"]["clusters"] if c["name"] == "gke")
    pools = {p["name"]: p for p in gke["pools"]}
    pools["h100-train"]["machine_type"] = "a3-megagpu-8g"  # same GPU, other machine: replaces the pool
    pools["h100-mig"]["mig"] = {"profiles": {"3g.40gb": 2}}  # new MIG layout: replaces the pool
    gke["pools"].append({"name": "l4-extra", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 4})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def prod_edit(tmp_path_factory) -> tuple[diff.Diff, str]:
    tmp = tmp_path_factory.mktemp("prod-edit")
    base, head = _project_copy(tmp, "base"), _project_copy(tmp, "head")
    _edit_prod(head)
    render_stack("prod", tmp / "out-base", project_dir=base)
    render_stack("prod", tmp / "out-head", project_dir=head)
    d = diff.compute_diff(diff.load_render(tmp / "out-base"), diff.load_render(tmp / "out-head"))
    return d, diff.format_markdown(d, "prod")


def test_edit_names_exactly_the_changed_pools(prod_edit):
    d, _ = prod_edit
    cloud_pools = "gcp:container/nodePool:NodePool"
    assert [n for t, n in d.added if t == cloud_pools] == ["gke-l4-extra-pool"]
    assert sorted(c.name for c in d.changed if c.type == cloud_pools) == ["gke-h100-mig-pool", "gke-h100-train-pool"]
    assert not [n for t, n in d.removed if t == cloud_pools]
    fields = {c.name: {p: (b, a) for p, b, a in c.fields} for c in d.changed}
    # The mega machine carries its own accelerator type, so the accelerator changes with it.
    assert fields["gke-h100-train-pool"] == {
        "nodeConfig.machineType": ("a3-highgpu-8g", "a3-megagpu-8g"),
        "nodeConfig.guestAccelerators[0].type": ("nvidia-h100-80gb", "nvidia-h100-mega-80gb"),
    }
    mig = fields["gke-h100-mig-pool"]
    assert mig["nodeConfig.guestAccelerators[0].gpuPartitionSize"] == ("1g.10gb", "3g.40gb")


def test_edit_flags_both_replacements_and_nothing_else(prod_edit):
    d, text = prod_edit
    assert sorted(c.name for c in d.changed if c.replace) == ["gke-h100-mig-pool", "gke-h100-train-pool"]
    # The machine type alone would be an in-place update; the accelerator type (ForceNew) replaces the pool.
    assert (
        "| `gke-h100-train-pool` (gcp:container/nodePool:NodePool) | **replace** | "
        "`nodeConfig.guestAccelerators[0].type` |"
    ) in text


def test_edit_calls_out_the_mig_repartition(prod_edit):
    d, text = prod_edit
    assert [(m.cluster, m.pool, m.before, m.after) for m in d.mig] == [
        ("gke", "h100-mig", "all-1g.10gb", "all-3g.40gb")]
    # On GKE the partition size is part of the accelerator (ForceNew): the pool is replaced, not re-partitioned.
    assert [m.pool_replaced for m in d.mig] == [True]
    assert ("| gke / `h100-mig` | `all-1g.10gb` -> `all-3g.40gb` | pool **replaced**: its new nodes come up with "
            "the new layout |") in text
    assert "re-partitioned in place" not in text


def test_edit_shows_the_gpu_capacity_delta(prod_edit):
    d, text = prod_edit
    rows = {(r.cluster, r.pool): r for r in d.capacity}
    # 4 new single-L4 nodes; the MIG pool keeps its GPUs but advertises 2 slices per GPU instead of 7.
    assert rows[("gke", "l4-extra")].delta == 4
    assert rows[("gke", "h100-mig")].delta == 0
    assert rows[("gke", "h100-mig")].resources_before == {"nvidia.com/gpu": 42}
    assert rows[("gke", "h100-mig")].resources_after == {"nvidia.com/gpu": 12}
    total = rows[("gke", None)]
    assert (total.gpus_before, total.gpus_after) == (102, 106)
    assert "| **gke** (total) | 102 | 106 | +4 |" in text


# --- a MIG layout redefined under the same name: the node group is untouched, every GPU is re-partitioned ---


def _set_mig(root: Path, profiles: dict[str, int]) -> None:
    path = root / "stacks" / "Pulumi.staging.yaml"
    doc = yaml.safe_load(path.read_text())
    eks = next(c for c in doc["config"]["mlinfra:platform"]["clusters"] if c["name"] == "eks")
    next(p for p in eks["pools"] if p["name"] == "p5-mig")["mig"] = {"profiles": profiles}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def staging_mig_edit(tmp_path_factory) -> tuple[diff.Diff, str]:
    tmp = tmp_path_factory.mktemp("staging-mig")
    base, head = _project_copy(tmp, "base", "staging"), _project_copy(tmp, "head", "staging")
    # Mixed layouts are named after the pool (`mlinfra-p5-mig`), so only the mig-parted ConfigMap says what changed.
    _set_mig(base, {"3g.40gb": 1, "2g.20gb": 1})
    _set_mig(head, {"3g.40gb": 1, "1g.10gb": 2})
    render_stack("staging", tmp / "out-base", project_dir=base)
    render_stack("staging", tmp / "out-head", project_dir=head)
    d = diff.compute_diff(diff.load_render(tmp / "out-base"), diff.load_render(tmp / "out-head"))
    return d, diff.format_markdown(d, "staging")


def test_mig_redefinition_is_called_out_although_nothing_is_replaced(staging_mig_edit):
    d, text = staging_mig_edit
    assert [(m.cluster, m.pool, m.after, m.redefined, m.pool_replaced) for m in d.mig] == [
        ("eks", "p5-mig", "mlinfra-p5-mig", True, False)]
    assert not [c.name for c in d.changed if c.replace]
    assert ("| eks / `p5-mig` | layout `mlinfra-p5-mig` redefined in the mig-parted config | **every GPU "
            "re-partitioned** in place, GPU pods drained node by node |") in text
    assert "although the node group or node pool itself is updated in place" in text


def test_mig_parted_config_change_shows_as_changed_lines(staging_mig_edit):
    d, text = staging_mig_edit
    configmap = next(c for c in d.changed if c.type == "kubernetes:core/v1:ConfigMap" and "mig" in c.name)
    assert [p for p, _, _ in configmap.fields] == ['data["config.yaml"]']
    block = text.split('`data["config.yaml"]`:')[1].split("```")[1]
    removed = [line for line in block.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in block.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert [line.strip("-+ ") for line in removed] == ["2g.20gb: 1"]
    assert [line.strip("-+ ") for line in added] == ["1g.10gb: 2"]


def test_every_change_fact_names_its_source_and_overlaps_nothing():
    from mlinfra.catalog.replacement import CHANGE_FACTS

    for type_, facts in CHANGE_FACTS.items():
        assert facts.type == type_ and facts.source, type_
        assert facts.replace or facts.nodes, type_
        # A path is either replaced or rolled, never both: the flag a reviewer sees must be one thing.
        assert not set(facts.replace) & set(facts.nodes), type_
