"""The scheduling model: GPU classes and their queues, host resources, teams on several clusters, outputs."""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.k8s import kueue
from mlinfra.k8s.scheduling_model import (
    cluster_flavors,
    cluster_outputs,
    cluster_teams,
    format_quantity,
    gpu_class,
    team_outputs,
    team_quotas,
)
from mlinfra.offline.render import render_environment
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import resolve_cluster_pools
from mlinfra.spec.scheduling import SchedulingSpec, TeamSpec, parse_quantity

GPU = "nvidia.com/gpu"
ROOT = Path(__file__).resolve().parents[2]


def prod_gke(teams: list[dict[str, Any]]) -> dict[str, Any]:
    """The prod GKE cluster: H100 training (8 GPUs a node), spot H200, and H100s cut into seven 1g.10gb slices.

    GKE advertises every one of them as `nvidia.com/gpu`.
    """
    return {
        "environment": "t",
        "clusters": [{
            "name": "gke", "cloud": "gcp", "region": "us-central1", "project": "p", "endpoint": DEPLOYERS,
            "pools": [
                {"name": "h100-train", "gpu": "H100-80GB", "machine_type": "a3-highgpu-8g", "max_nodes": 8},
                {"name": "h200-train", "gpu": "H200-141GB", "machine_type": "a3-ultragpu-8g", "max_nodes": 4,
                 "spot": True},
                # Compute Engine offers a3-highgpu-1g only as spot (or flex-start).
                {"name": "h100-mig", "gpu": "H100-80GB", "machine_type": "a3-highgpu-1g", "max_nodes": 6,
                 "spot": True, "mig": {"profiles": {"1g.10gb": 7}}},
                {"name": "l4-shared", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 3,
                 "time_slicing": {"replicas": 4}},
            ],
        }],
        "scheduling": {"teams": teams},
    }


def _plan(spec: dict[str, Any]) -> kueue.KueuePlan:
    env = load_environment(spec)
    cluster = env.clusters[0]
    return kueue.plan(env, cluster, resolve_cluster_pools(cluster))


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        ({"gpu": "H100-80GB", "machine_type": "a3-highgpu-8g"}, "gpu"),
        ({"gpu": "H100-80GB", "machine_type": "a3-highgpu-1g", "spot": True, "mig": {"profiles": {"1g.10gb": 7}}},
         "mig-1g-10gb"),
        ({"gpu": "L4-24GB", "machine_type": "g2-standard-8", "time_slicing": {"replicas": 4}}, "shared"),
    ],
)
def test_gpu_class_names_what_one_unit_of_the_resource_is(pool: dict[str, Any], expected: str) -> None:
    spec = prod_gke([])
    spec["clusters"][0]["pools"] = [{"name": "p", "max_nodes": 1, **pool}]
    env = load_environment(spec)
    resolved = resolve_cluster_pools(env.clusters[0])[0]
    assert resolved.resources_per_node().keys() == {GPU}  # GKE: the resource name alone cannot tell them apart
    assert gpu_class(resolved) == expected


def test_gke_default_quotas_give_one_queue_per_gpu_class_never_mixing_them() -> None:
    """The issue's case: a one-slice job must not get an 8-GPU H100 node, nor a training job a 10 GB slice.

    Kueue gives a workload the first flavor of its queue's resource group with room (kubernetes-sigs/
    kueue@v0.19.2 site/content/en/docs/concepts/cluster_queue.md), so a queue must only list flavors of one
    class; and one ClusterQueue cannot hold `nvidia.com/gpu` in two resource groups (the webhook refuses a
    duplicate covered resource: pkg/webhooks/clusterqueue_webhook.go `validateResourceGroups`).
    """
    plan = _plan(prod_gke([{"name": "research", "cluster": "gke"}]))
    queues = {cq["metadata"]["name"]: cq["spec"] for cq in plan.cluster_queues}
    flavors_of = {name: [f["name"] for g in spec["resourceGroups"] for f in g["flavors"]]
                  for name, spec in queues.items()}
    assert flavors_of == {
        "research": ["h100-train", "h200-train"],  # whole GPUs, on-demand first
        "research-mig-1g-10gb": ["h100-mig"],
        "research-shared": ["l4-shared"],
    }
    local = {(lq["metadata"]["namespace"], lq["metadata"]["name"]): lq["spec"]["clusterQueue"]
             for lq in plan.local_queues}
    assert local == {("research", n): n for n in queues}
    for spec in queues.values():
        assert [g["coveredResources"] for g in spec["resourceGroups"]] == [["cpu", "memory", GPU]]


def test_explicit_quotas_split_by_class_in_quota_order() -> None:
    plan = _plan(prod_gke([{"name": "nlp", "cluster": "gke", "quotas": [
        {"flavor": "h100-mig", "resources": {GPU: 14}},
        {"flavor": "h200-train", "resources": {GPU: 8}},
        {"flavor": "h100-train", "resources": {GPU: 16}},
    ]}]))
    queues = {cq["metadata"]["name"]: [f["name"] for f in cq["spec"]["resourceGroups"][0]["flavors"]]
              for cq in plan.cluster_queues}
    # The team put spot H200 before on-demand H100: its order stands within the class.
    assert queues == {"nlp-mig-1g-10gb": ["h100-mig"], "nlp": ["h200-train", "h100-train"]}


def test_a_gpu_only_quota_also_covers_the_cpu_and_memory_beside_those_gpus() -> None:
    """Kueue does not admit a workload requesting a resource its queue does not cover ("resource cpu
    unavailable in ClusterQueue": kubernetes-sigs/kueue@v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go)."""
    env = load_environment(prod_gke([{"name": "nlp", "cluster": "gke", "quotas": [
        {"flavor": "h100-train", "resources": {GPU: 16}},
        {"flavor": "h100-mig", "resources": {GPU: 7, "cpu": 4}},
    ]}]))
    cluster = env.clusters[0]
    pools = resolve_cluster_pools(cluster)
    train, mig = team_quotas(env, cluster, pools)["nlp"]
    # h100-train: 8 nodes of a3-highgpu-8g (8 GPUs, 208 vCPU, 1872 GiB as the catalog counts it); 16 GPUs
    # are 2 nodes' worth.
    assert train.resources == {"cpu": 416, "memory": "3744Gi", GPU: 16}
    # h100-mig: 6 nodes of a3-highgpu-1g (7 slices, 26 vCPU, 234 GiB); 7 slices are one node; cpu given stays.
    assert mig.resources == {"memory": "234Gi", GPU: 7, "cpu": 4}
    spec = kueue.cluster_queue(env.scheduling.teams[0], [train], "nlp")["spec"]
    assert spec["resourceGroups"][0]["flavors"][0]["resources"] == [
        {"name": "cpu", "nominalQuota": 416},
        {"name": "memory", "nominalQuota": "3744Gi"},
        {"name": GPU, "nominalQuota": 16},
    ]


def test_host_shares_of_all_teams_stay_within_the_pool() -> None:
    env = load_environment(prod_gke([
        {"name": f"t{k}", "cluster": "gke", "quotas": [{"flavor": "h100-mig", "resources": {GPU: 3}}]}
        for k in range(14)
    ]))
    cluster = env.clusters[0]
    pools = resolve_cluster_pools(cluster)
    capacity = cluster_flavors(env, cluster, pools)["h100-mig"].capacity()
    quotas = team_quotas(env, cluster, pools)
    for resource in ("cpu", "memory"):
        total = sum(parse_quantity(q.resources[resource]) for qs in quotas.values() for q in qs)
        assert 0 < total <= capacity[resource]


def test_flavors_carry_the_labels_that_tell_gpu_classes_apart() -> None:
    plan = _plan(prod_gke([{"name": "research", "cluster": "gke"}]))
    labels = {f["metadata"]["name"]: f["spec"]["nodeLabels"] for f in plan.flavors}
    assert labels["h100-mig"] == {"mlinfra.io/pool": "h100-mig", "mlinfra.io/gpu-model": "H100-80GB",
                                  "mlinfra.io/capacity-type": "spot"}
    # A workload pinning the H200 model matches only the H200 flavor on every key Kueue compares.
    pinned = {"mlinfra.io/gpu-model": "H200-141GB"}
    matching = [n for n, lab in labels.items() if all(lab.get(k, v) == v for k, v in pinned.items())]
    assert matching == ["h200-train"]


# -- outputs for team stacks -----------------------------------------------------------------------------------


def test_outputs_give_each_team_its_queue_per_gpu_class_on_each_cluster() -> None:
    spec = prod_gke([{"name": "research", "cluster": "gke", "namespace": "ml-research"}])
    env = load_environment(spec)
    cluster = env.clusters[0]
    out = cluster_outputs(env, cluster, resolve_cluster_pools(cluster))
    assert out["queues"] == {"ml-research": {"gpu": "research", "mig-1g-10gb": "research-mig-1g-10gb",
                                             "shared": "research-shared"}}
    assert out["gpu_classes"] == {"gpu": ["h100-train", "h200-train"], "mig-1g-10gb": ["h100-mig"],
                                  "shared": ["l4-shared"]}
    assert team_outputs(env) == {"research": {"namespace": "ml-research", "clusters": {"gke": {
        "scheduler": "kueue", "queues": out["queues"]["ml-research"], "gpu_classes": out["gpu_classes"]}}}}


def two_clouds(team: dict[str, Any], cohorts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "environment": "t",
        "clusters": [
            {"name": "eks", "cloud": "aws", "region": "us-east-1", **EKS_REACHABLE,
             "pools": [{"name": "p5", "gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "max_nodes": 2}]},
            {"name": "gke", "cloud": "gcp", "region": "us-central1", "project": "p", "scheduler": "volcano",
             "endpoint": DEPLOYERS,
             "pools": [{"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 4}]},
        ],
        "scheduling": {"teams": [team, {"name": "other", "cluster": "eks", "cohort": "ml"}],
                       "cohorts": cohorts or []},
    }


def test_a_team_on_two_clusters_gets_a_queue_and_its_quota_on_each() -> None:
    spec = two_clouds(
        {"name": "research", "clusters": ["eks", "gke"], "namespace": "ml-research", "cohort": "ml",
         "quotas": [{"cluster": "eks", "flavor": "p5", "resources": {GPU: 8}},
                    {"cluster": "gke", "flavor": "l4", "resources": {GPU: 2, "cpu": 8, "memory": "32Gi"}}]},
        [{"name": "ml", "cluster": "eks"}, {"name": "ml", "cluster": "gke"}],
    )
    env = load_environment(spec)
    files = render_environment(spec)
    cq = yaml.safe_load(files["manifests/eks/_cluster/ClusterQueue-research.yaml"])
    assert cq["spec"]["cohortName"] == "ml"
    assert [f["name"] for f in cq["spec"]["resourceGroups"][0]["flavors"]] == ["p5"]
    queue = yaml.safe_load(files["manifests/gke/_cluster/Queue-research.yaml"])
    assert queue["spec"]["deserved"] == {"cpu": 8, "memory": "32Gi", GPU: 2}
    assert queue["spec"]["parent"] == "ml"
    for cluster in ("eks", "gke"):
        assert f"manifests/{cluster}/_cluster/Namespace-ml-research.yaml" in files
    assert team_outputs(env)["research"] == {"namespace": "ml-research", "clusters": {
        "eks": {"scheduler": "kueue", "queues": {"gpu": "research"}, "gpu_classes": {"gpu": ["p5"]}},
        "gke": {"scheduler": "volcano", "queues": {"gpu": "research"}, "gpu_classes": {"gpu": ["l4"]}},
    }}


def test_a_team_on_two_clusters_without_quotas_on_one_shares_that_one() -> None:
    spec = two_clouds(
        {"name": "research", "clusters": ["eks", "gke"],
         "quotas": [{"cluster": "eks", "flavor": "p5", "resources": {GPU: 8}}]},
    )
    env = load_environment(spec)
    gke = env.cluster("gke")
    assert gke is not None
    quotas = team_quotas(env, gke, resolve_cluster_pools(gke))
    assert [(q.flavor, q.resources[GPU]) for q in quotas["research"]] == [("l4", 4)]


# -- the teams of a cluster -----------------------------------------------------------------------------------

# Teams as a spec writes them: one cluster, several, a name repeated in `clusters`. Expected: per cluster, the
# teams with a queue there, in spec order, each once.
TEAMS_ON = [
    {"name": "a", "cluster": "x"},
    {"name": "b", "clusters": ["x", "y"]},
    {"name": "c", "clusters": ["y", "x", "y"]},
    {"name": "d", "cluster": "y"},
]


@pytest.mark.parametrize(("cluster", "expected"), [
    ("x", ["a", "b", "c"]),
    ("y", ["b", "c", "d"]),
    ("z", []),
])
def test_the_teams_of_a_cluster_come_in_spec_order_each_once(cluster: str, expected: list[str]) -> None:
    env = load_environment(two_clouds({"name": "solo", "cluster": "eks"}))
    env = env.model_copy(update={"scheduling": SchedulingSpec(teams=[TeamSpec(**t) for t in TEAMS_ON])})
    teams = cluster_teams(env, cluster)
    assert [t.name for t in teams] == expected
    teams.append(env.scheduling.teams[0])  # the caller's list: changing it changes nothing the next caller sees
    assert [t.name for t in cluster_teams(env, cluster)] == expected


def test_the_teams_are_read_once_per_spec_not_once_per_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    # Scanning every team for every cluster grew with clusters x teams: at 72 clusters and 900 teams it was
    # the one part of a render whose cost per resource grew with the environment's size.
    env = load_environment(two_clouds({"name": "solo", "cluster": "eks"}))
    env = env.model_copy(update={"scheduling": SchedulingSpec(teams=[TeamSpec(**t) for t in TEAMS_ON])})
    reads: list[str] = []
    original = TeamSpec.cluster_names

    def counted(team: TeamSpec) -> list[str]:
        reads.append(team.name)
        return original.fget(team)  # type: ignore[attr-defined]

    monkeypatch.setattr(TeamSpec, "cluster_names", property(counted))
    for cluster in ("x", "y", "z", "x", "y"):
        cluster_teams(env, cluster)
    assert sorted(reads) == ["a", "b", "c", "d"]


def test_a_copy_with_other_teams_or_clusters_answers_from_its_own_fields() -> None:
    # The indexes are cached on the frozen spec; a copy with new fields must not answer from the original's.
    env = load_environment(two_clouds({"name": "solo", "cluster": "eks"}))
    assert "solo" in [t.name for t in cluster_teams(env, "eks")] and env.cluster("eks") is not None
    teams = env.scheduling.model_copy(update={"teams": [TeamSpec(**t) for t in TEAMS_ON]})
    assert [t.name for t in teams.teams_by_cluster["x"]] == ["a", "b", "c"] and "eks" not in teams.teams_by_cluster
    renamed = env.model_copy(update={"clusters": [c.model_copy(update={"name": f"{c.name}2"}) for c in env.clusters]})
    assert renamed.cluster("eks") is None and renamed.cluster("eks2") is not None


# -- caches go to the team's namespace -----------------------------------------------------------------------


def test_a_cache_for_a_team_lands_in_the_teams_namespace() -> None:
    spec = prod_gke([{"name": "research", "cluster": "gke", "namespace": "ml-research"}])
    spec["caches"] = [{"name": "corpus", "cluster": "gke", "mounts": [{"url": "gs://bucket/corpus"}],
                       "pools": ["h100-train"], "teams": ["research"], "tiers": [{"medium": "MEM", "quota": "8Gi"}]}]
    files = render_environment(spec)
    assert "manifests/gke/ml-research/Dataset-corpus.yaml" in files
    assert not [f for f in files if "/research/" in f]


# -- quantities ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "parts", "expected"),
    [
        ("memory", ["800Gi", "1Ti"], "1824Gi"),
        ("memory", ["1536Mi", "512Mi"], "2Gi"),
        ("memory", ["1G", "1G"], "1953125Ki"),  # decimal units: the largest binary suffix that divides it
        ("memory", ["1G", "1"], 1_000_000_001),
        ("memory", ["1Ki", "1"], 1025),
        ("cpu", ["500m", "0.25"], "750m"),
        ("cpu", ["100", "50500m"], "150500m"),
        ("cpu", ["1", "1"], 2),
        (GPU, [8, 8], 16),
    ],
)
def test_sums_keep_kubernetes_quantity_semantics(resource: str, parts: list[Any], expected: Any) -> None:
    total = sum((parse_quantity(p) for p in parts), Decimal(0))
    assert format_quantity(resource, total) == expected
    assert parse_quantity(format_quantity(resource, total)) == total


# -- the model and the dispatch: data flows one way ----------------------------------------------------------

MODULES = ("scheduling_model", "teams", "kueue", "volcano", "scheduling")


@pytest.mark.parametrize("module", MODULES)
def test_each_scheduling_module_imports_alone(module: str) -> None:
    proc = subprocess.run([sys.executable, "-c", f"import mlinfra.k8s.{module}"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _imports(module: str) -> set[str]:
    tree = ast.parse((ROOT / "mlinfra" / "k8s" / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):  # function-level imports count too
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n.removeprefix("mlinfra.k8s.") for n in names if n.removeprefix("mlinfra.k8s.") in MODULES}
    return found - {module}


def test_the_scheduling_modules_import_each_other_without_a_cycle() -> None:
    graph = {m: _imports(m) for m in MODULES}
    assert graph["scheduling_model"] == set()  # the model imports no dispatch

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, "import cycle: " + " -> ".join((*path, node))
        for nxt in graph[node]:
            visit(nxt, (*path, node))

    for module in MODULES:
        visit(module, ())
