"""Kueue: flavors from pools, cluster queues from quotas, team namespaces, the release values, the render."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS

from mlinfra.k8s import kueue
from mlinfra.k8s.scheduling import cluster_flavors, cluster_outputs, team_quotas
from mlinfra.offline.render import render_environment
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import resolve_cluster_pools
from mlinfra.spec.scheduling import QuotaSpec, SchedulingSpec, TeamSpec


def gke(teams: list[dict[str, Any]], **scheduling: Any) -> dict[str, Any]:
    return {
        "environment": "t",
        "clusters": [{
            "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
            "pools": [
                {"name": "l4-spot", "gpu": "L4-24GB", "max_nodes": 4, "spot": True,
                 "labels": {"team-tier": "shared"}, "taints": [{"key": "mlinfra.io/spot", "value": "true"}]},
                {"name": "l4", "gpu": "L4-24GB", "max_nodes": 2},
            ],
        }],
        "scheduling": {"teams": teams, **scheduling},
    }


def test_each_pool_gets_a_flavor_selecting_it_and_tolerating_its_taints() -> None:
    env = load_environment(gke([]))
    cluster = env.clusters[0]
    flavors = cluster_flavors(env, cluster, resolve_cluster_pools(cluster))
    spot = kueue.resource_flavor(flavors["l4-spot"])
    assert spot == {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "ResourceFlavor",
        "metadata": {"name": "l4-spot"},
        "spec": {
            "nodeLabels": {"mlinfra.io/capacity-type": "spot", "mlinfra.io/gpu-model": "L4-24GB",
                           "mlinfra.io/pool": "l4-spot"},
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
                {"key": "mlinfra.io/spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
            ],
        },
    }
    assert flavors["l4-spot"].spot is True and flavors["l4"].spot is False


def test_cluster_queue_covers_every_resource_in_every_flavor_with_limits_and_policies() -> None:
    team = TeamSpec(name="research", cluster="gke", cohort="ml", fair_sharing_weight=2,
                    preemption={"borrow_within_cohort": "LowerPriority", "borrow_max_priority_threshold": 100})
    quotas = [
        QuotaSpec(flavor="l4", resources={"nvidia.com/gpu": 2, "memory": "64Gi"}, lending_limit={"nvidia.com/gpu": 1}),
        QuotaSpec(flavor="l4-spot", resources={"cpu": "8", "nvidia.com/gpu": 4}, borrowing_limit={"nvidia.com/gpu": 4}),
    ]
    spec = kueue.cluster_queue(team, quotas)["spec"]
    group = spec["resourceGroups"][0]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    assert group["flavors"] == [
        {"name": "l4", "resources": [
            {"name": "cpu", "nominalQuota": 0},
            {"name": "memory", "nominalQuota": "64Gi"},
            {"name": "nvidia.com/gpu", "nominalQuota": 2, "lendingLimit": 1},
        ]},
        {"name": "l4-spot", "resources": [
            {"name": "cpu", "nominalQuota": "8"},
            {"name": "memory", "nominalQuota": 0},
            {"name": "nvidia.com/gpu", "nominalQuota": 4, "borrowingLimit": 4},
        ]},
    ]
    assert spec["cohortName"] == "ml"
    assert spec["fairSharing"] == {"weight": 2}
    assert spec["preemption"] == {
        "withinClusterQueue": "LowerPriority", "reclaimWithinCohort": "Any",
        "borrowWithinCohort": {"policy": "LowerPriority", "maxPriorityThreshold": 100},
    }
    assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "research"}}


def test_teams_without_quotas_split_the_capacity_on_demand_first() -> None:
    env = load_environment(gke([{"name": "a", "cluster": "gke"}, {"name": "b", "cluster": "gke"}]))
    cluster = env.clusters[0]
    quotas = team_quotas(env, cluster, resolve_cluster_pools(cluster))
    assert [q.flavor for q in quotas["a"]] == ["l4", "l4-spot"]
    # g2-standard-4: 1 L4, 4 vCPU, 16 GiB; l4 has 2 nodes, l4-spot 4 nodes; two teams share.
    assert quotas["a"][0].resources == {"cpu": 4, "memory": "16Gi", "nvidia.com/gpu": 1}
    assert quotas["b"][1].resources == {"cpu": 8, "memory": "32Gi", "nvidia.com/gpu": 2}


def test_default_split_leaves_out_what_explicit_teams_hold() -> None:
    env = load_environment(gke([
        {"name": "a", "cluster": "gke", "quotas": [{"flavor": "l4", "resources": {"nvidia.com/gpu": 2}}]},
        {"name": "b", "cluster": "gke"},
    ]))
    cluster = env.clusters[0]
    quotas = team_quotas(env, cluster, resolve_cluster_pools(cluster))
    assert quotas["b"][0].resources["nvidia.com/gpu"] == 0
    assert quotas["b"][1].resources["nvidia.com/gpu"] == 4


@pytest.mark.parametrize(
    ("monitoring", "expected"),
    [(None, {}), ("monitoring", {"enablePrometheus": True, "metrics": {"prometheusNamespace": "monitoring"}})],
)
def test_metrics_are_exposed_only_with_monitoring(monitoring: str | None, expected: dict[str, Any]) -> None:
    values = kueue.helm_values(SchedulingSpec(), monitoring)
    assert {k: values[k] for k in ("enablePrometheus", "metrics") if k in values} == expected


@pytest.mark.parametrize(("plain_pods", "has_pod"), [(False, False), (True, True)])
def test_plain_pods_are_opt_in(plain_pods: bool, has_pod: bool) -> None:
    frameworks = kueue.controller_config(SchedulingSpec(plain_pods=plain_pods))["integrations"]["frameworks"]
    assert ("pod" in frameworks) is has_pod
    assert "kubeflow.org/pytorchjob" in frameworks and "ray.io/rayjob" in frameworks


def test_render_creates_team_namespace_queue_quota_and_limits() -> None:
    files = render_environment(gke([{"name": "research", "cluster": "gke", "pod_security": "baseline"}]))
    ns = yaml.safe_load(files["manifests/gke/_cluster/Namespace-research.yaml"])
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["metadata"]["labels"]["mlinfra.io/queued"] == "true"
    lq = yaml.safe_load(files["manifests/gke/research/LocalQueue-research.yaml"])
    assert lq["spec"] == {"clusterQueue": "research"}
    quota = yaml.safe_load(files["manifests/gke/research/ResourceQuota-research-ceiling.yaml"])
    assert quota["spec"]["hard"] == {"requests.cpu": 24, "requests.memory": "96Gi", "requests.nvidia.com/gpu": 6}
    limits = yaml.safe_load(files["manifests/gke/research/LimitRange-research-defaults.yaml"])
    assert limits["spec"]["limits"][0]["defaultRequest"] == {"cpu": "500m", "memory": "1Gi"}
    for name in ("batch-low", "batch-normal", "batch-high"):
        assert f"manifests/gke/_cluster/WorkloadPriorityClass-{name}.yaml" in files
    resources = json.loads(files["resources.json"])
    component = next(r for r in resources if r["type"] == "mlinfra:kueue:Kueue")
    assert (component["name"], component["parent"]) == ("gke-kueue", "gke")
    children = [r for r in resources if r["parent"] == "gke-kueue"]
    assert children and all(r["name"].startswith("gke-kueue-") for r in children)
    assert {r["provider"] for r in children} == {"gke-k8s"}


def test_namespaces_default_to_restricted_pod_security() -> None:
    files = render_environment(gke([{"name": "research", "cluster": "gke"}]))
    ns = yaml.safe_load(files["manifests/gke/_cluster/Namespace-research.yaml"])
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_scheduler_none_renders_no_scheduler() -> None:
    spec = gke([])
    spec["clusters"][0]["scheduler"] = "none"
    files = render_environment(spec)
    assert not [f for f in files if "kueue" in f or "ResourceFlavor" in f or "ClusterQueue" in f]


def test_cluster_outputs_name_each_namespace_queue_and_the_flavors() -> None:
    env = load_environment(gke([{"name": "research", "cluster": "gke", "namespace": "res"}]))
    cluster = env.clusters[0]
    assert cluster_outputs(env, cluster, resolve_cluster_pools(cluster)) == {
        "scheduler": "kueue", "queues": {"res": {"gpu": "research"}}, "flavors": ["l4", "l4-spot"],
        "gpu_classes": {"gpu": ["l4-spot", "l4"]},
    }


@pytest.mark.parametrize(("enabled", "prometheus"), [(True, True), (False, None)])
def test_the_release_exposes_metrics_to_the_monitoring_stack(enabled: bool, prometheus: bool | None) -> None:
    spec = gke([{"name": "research", "cluster": "gke"}])
    spec["monitoring"] = {"enabled": enabled}
    release = yaml.safe_load(render_environment(spec)["helm/gke/kueue.yaml"])
    assert release["values"].get("enablePrometheus") is prometheus
    if enabled:
        assert release["values"]["metrics"] == {"prometheusNamespace": "monitoring"}
