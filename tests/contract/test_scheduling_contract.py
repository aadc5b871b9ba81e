"""Kueue and Volcano renders against the pinned upstream contracts (CRDs, chart values, default configs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.k8s import kueue, volcano
from mlinfra.offline.render import render_environment
from mlinfra.offline.validate import validate_dir, validate_objects
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import resolve_cluster_pools

RICH: dict[str, Any] = {
    "environment": "contract",
    "clusters": [
        {
            "name": "eks",
            "cloud": "aws", **EKS_REACHABLE,
            "region": "us-east-1",
            "pools": [
                {
                    "name": "h100-mig",
                    "gpu": "H100-80GB",
                    "max_nodes": 2,
                    "mig": {"profiles": {"1g.10gb": 3, "2g.20gb": 2}},
                    "taints": [{"key": "mlinfra.io/mig", "value": "mixed", "effect": "NoSchedule"}],
                },
                {"name": "h100-od", "gpu": "H100-80GB", "max_nodes": 4, "labels": {"acme.io/tier": "train"}},
                {"name": "h100-spot", "gpu": "H100-80GB", "max_nodes": 8, "spot": True},
            ],
        },
        {
            "name": "gke",
            "cloud": "gcp", "endpoint": DEPLOYERS,
            "region": "us-central1",
            "project": "p",
            "pools": [
                {"name": "l4-shared", "gpu": "L4-24GB", "max_nodes": 3, "spot": True, "time_slicing": {"replicas": 4}},
                {"name": "a100-mig", "gpu": "A100-40GB", "max_nodes": 2, "mig": {"profiles": {"1g.5gb": 7}}},
            ],
        },
        {
            "name": "batch",
            "cloud": "gcp", "endpoint": DEPLOYERS,
            "region": "us-central1",
            "project": "p",
            "scheduler": "volcano",
            "pools": [{"name": "l4-batch", "gpu": "L4-24GB", "max_nodes": 4}],
        },
    ],
    "scheduling": {
        "fair_sharing": True,
        "plain_pods": True,
        "flavors": [
            {
                "name": "h100-any-od",
                "cluster": "eks",
                # A group flavor holds one GPU class: the tier label leaves the MIG pool out.
                "node_labels": {"mlinfra.io/gpu-model": "H100-80GB", "mlinfra.io/capacity-type": "on-demand",
                                "acme.io/tier": "train"},
            }
        ],
        # Cohorts are one cluster's: `ml` and `org` are declared on each cluster that uses them.
        "cohorts": [
            {"name": "org", "cluster": "eks"},
            {"name": "org", "cluster": "batch"},
            {"name": "ml", "cluster": "eks", "parent": "org", "fair_sharing_weight": 2},
            {"name": "ml", "cluster": "batch", "parent": "org"},
        ],
        "teams": [
            {
                "name": "research",
                "cluster": "eks",
                "cohort": "ml",
                "fair_sharing_weight": "1.5",
                "preemption": {"borrow_within_cohort": "LowerPriority", "borrow_max_priority_threshold": 1000},
                "quotas": [
                    {
                        "flavor": "h100-mig",
                        "resources": {
                            "nvidia.com/mig-1g.10gb": 4,
                            "nvidia.com/mig-2g.20gb": 2,
                            "cpu": 8,
                            "memory": "64Gi",
                        },
                        "lending_limit": {"nvidia.com/mig-1g.10gb": 2},
                    },
                    {
                        "flavor": "h100-spot",
                        "resources": {"nvidia.com/gpu": 4, "cpu": "16", "memory": "128Gi"},
                        "borrowing_limit": {"nvidia.com/gpu": 4},
                    },
                ],
            },
            {
                "name": "prod",
                "cluster": "eks",
                "cohort": "ml",
                "pod_security": "baseline",
                "quotas": [{"flavor": "h100-any-od", "resources": {"nvidia.com/gpu": 4, "cpu": 32, "memory": "500Gi"}}],
            },
            {"name": "labs", "cluster": "gke"},
            {"name": "interns", "cluster": "gke", "namespace": "interns-sandbox"},
            {
                "name": "vision",
                "cluster": "batch",
                "cohort": "ml",
                "fair_sharing_weight": 3,
                "quotas": [
                    {
                        "flavor": "l4-batch",
                        "resources": {"nvidia.com/gpu": 2, "cpu": 8, "memory": "32Gi"},
                        "borrowing_limit": {"nvidia.com/gpu": 2, "cpu": 8, "memory": "32Gi"},
                        "lending_limit": {"nvidia.com/gpu": 1},
                    }
                ],
            },
            {"name": "speech", "cluster": "batch"},
        ],
    },
}


# What the scheduling add-ons render (the other add-ons have their own contract tests).
OURS = (
    "ResourceFlavor",
    "ClusterQueue",
    "Cohort",
    "LocalQueue",
    "WorkloadPriorityClass",
    "Queue",
    "PriorityClass",
    "Namespace",
    "ResourceQuota",
    "LimitRange",
)
TEAM_NAMESPACES = ("research", "prod", "labs", "interns-sandbox", "vision", "speech")


def _ours(rel: str, text: str) -> bool:
    if rel.startswith("helm/"):
        return rel.rsplit("/", 1)[-1] in ("kueue.yaml", "volcano.yaml")
    if not rel.startswith("manifests/"):
        return False
    obj = yaml.safe_load(text)
    if obj["kind"] == "Namespace":
        return obj["metadata"]["name"] in TEAM_NAMESPACES
    return obj["kind"] in OURS


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    files = {rel: text for rel, text in render_environment(RICH).items() if _ours(rel, text)}
    out = tmp_path_factory.mktemp("render")
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    return out, files


def _objects(files: dict[str, str], kind: str, cluster: str | None = None) -> list[dict[str, Any]]:
    out = []
    for rel, text in sorted(files.items()):
        parts = rel.split("/")
        if parts[0] == "manifests" and parts[-1].startswith(f"{kind}-") and (cluster is None or parts[1] == cluster):
            out.append(yaml.safe_load(text))
    return out


def test_every_rendered_object_and_values_file_validates(rendered: tuple[Path, dict[str, str]], upstream: Path) -> None:
    out, files = rendered
    report = validate_dir(out, crds_dir=upstream)
    assert report.problems == [], report.format()
    kinds = {rel.split("/")[-1].split("-")[0] for rel in files if rel.startswith("manifests/")}
    assert kinds == set(OURS)
    assert report.objects == len(files)
    assert {"helm/eks/kueue.yaml", "helm/gke/kueue.yaml", "helm/batch/volcano.yaml"} <= set(files)
    # CEL rules of the Kueue CRDs ran (the ClusterQueue preemption and flavor rules among them).
    assert report.cel_rules_evaluated > 0


@pytest.mark.parametrize("cluster", ["eks", "gke"])
def test_flavors_select_real_pools_and_quotas_name_provided_resources(
    rendered: tuple[Path, dict[str, str]], cluster: str
) -> None:
    _, files = rendered
    env = load_environment(RICH)
    pools = resolve_cluster_pools(env.cluster(cluster))  # type: ignore[arg-type]
    flavors = {f["metadata"]["name"]: f for f in _objects(files, "ResourceFlavor", cluster)}
    assert flavors
    provided: dict[str, set[str]] = {}
    for name, flavor in flavors.items():
        labels = flavor["spec"]["nodeLabels"]
        matched = [p for p in pools if all(p.labels.get(k) == v for k, v in labels.items())]
        assert matched, f"flavor {name} selects no pool: {labels}"
        # Admitted pods get the flavor's tolerations: they must cover every taint of the matched pools.
        tolerated = {(t["key"], t.get("value"), t["effect"]) for t in flavor["spec"].get("tolerations", [])}
        for pool in matched:
            assert {(t["key"], t["value"], t["effect"]) for t in pool.taints} <= tolerated
        provided[name] = {"cpu", "memory"} | {r for p in matched for r in p.resources_per_node()}
    queues = _objects(files, "ClusterQueue", cluster)
    assert queues
    for cq in queues:
        for group in cq["spec"]["resourceGroups"]:
            for flavor in group["flavors"]:
                assert flavor["name"] in flavors
                for res in flavor["resources"]:
                    if res["nominalQuota"] not in (0, "0"):
                        assert res["name"] in provided[flavor["name"]], (cq["metadata"]["name"], flavor["name"], res)


def test_spot_and_on_demand_flavors_are_distinct(rendered: tuple[Path, dict[str, str]]) -> None:
    _, files = rendered
    by_name = {f["metadata"]["name"]: f["spec"]["nodeLabels"] for f in _objects(files, "ResourceFlavor", "eks")}
    # A pool's own flavor carries its pool, GPU model and capacity-type labels, so a workload that pins any of
    # them rules the other flavors out (Kueue matches only the flavor's own label keys: kubernetes-sigs/
    # kueue@v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go `flavorSelector`).
    assert by_name["h100-spot"] == {"mlinfra.io/pool": "h100-spot", "mlinfra.io/gpu-model": "H100-80GB",
                                    "mlinfra.io/capacity-type": "spot"}
    assert by_name["h100-any-od"]["mlinfra.io/capacity-type"] == "on-demand"


def _upstream_frameworks(text: str) -> set[str]:
    # Every framework the default config lists, including the commented-out ones it documents.
    return set(re.findall(r'^\s*#?\s*-\s*"([a-z0-9./-]+)"\s*$', text, flags=re.M))


def _top_keys(text: str) -> tuple[set[str], set[str]]:
    active = set(yaml.safe_load(text))
    documented = set(re.findall(r"^#\s?([A-Za-z]+):", text, flags=re.M))
    return active, documented


def test_controller_config_matches_the_v1beta2_configuration_format(upstream: Path) -> None:
    text = (upstream / "kueue" / "v0.19.2" / "controller_manager_config.yaml").read_text()
    active, documented = _top_keys(text)
    ours = kueue.controller_config(load_environment(RICH).scheduling)
    assert ours["apiVersion"] == yaml.safe_load(text)["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    assert active <= set(ours), f"missing upstream keys: {active - set(ours)}"
    assert set(ours) <= active | documented, f"keys the format does not have: {set(ours) - active - documented}"
    upstream_cfg = yaml.safe_load(text)
    for key in ("health", "metrics", "webhook", "leaderElection", "clientConnection"):
        assert ours[key] == upstream_cfg[key]
    assert set(ours["controller"]["groupKindConcurrency"]) == set(upstream_cfg["controller"]["groupKindConcurrency"])
    valid = _upstream_frameworks(text)
    assert {"kubeflow.org/pytorchjob", "ray.io/rayjob", "batch/job"} <= valid
    assert set(ours["integrations"]["frameworks"]) <= valid
    for needed in (
        "batch/job",
        "jobset.x-k8s.io/jobset",
        "kubeflow.org/pytorchjob",
        "ray.io/rayjob",
        "ray.io/raycluster",
        "pod",
    ):
        assert needed in ours["integrations"]["frameworks"]
    # Fair sharing on: the documented strategies, without the v1beta1 `enable` switch.
    assert ours["fairSharing"] == {"preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]}


def test_kueue_release_pins_the_release_image_not_the_charts_staging_one(
    rendered: tuple[Path, dict[str, str]], upstream: Path
) -> None:
    _, files = rendered
    release = yaml.safe_load(files["helm/eks/kueue.yaml"])
    chart = yaml.safe_load((upstream / "kueue" / "v0.19.2" / "Chart.yaml").read_text())
    # An OCI chart: the whole reference in `chart`, no repository (tests/contract/test_helm_release_source.py).
    assert (release["chart"], release["repository"], release["version"]) == (
        "oci://registry.k8s.io/kueue/charts/kueue", None, "0.19.2")
    assert release["version"] == chart["version"].lstrip("v")
    image = release["values"]["controllerManager"]["manager"]["image"]
    staging = yaml.safe_load((upstream / "kueue" / "v0.19.2" / "values.yaml").read_text())
    assert "staging" in staging["controllerManager"]["manager"]["image"]["repository"]
    assert image == {"repository": "registry.k8s.io/kueue/kueue", "tag": "v0.19.2", "pullPolicy": "IfNotPresent"}
    config = yaml.safe_load(release["values"]["managerConfig"]["controllerManagerConfigYaml"])
    assert config["kind"] == "Configuration"


def test_volcano_conf_adds_preempt_and_reclaim_to_the_default(
    upstream: Path, rendered: tuple[Path, dict[str, str]]
) -> None:
    default = yaml.safe_load((upstream / "volcano" / "v1.15.1" / "volcano-scheduler.conf.yaml").read_text())
    default_actions = [a.strip() for a in default["actions"].split(",")]
    assert "preempt" not in default_actions and "reclaim" not in default_actions
    _, files = rendered
    release = yaml.safe_load(files["helm/batch/volcano.yaml"])
    assert (release["chart"], release["version"]) == ("volcano", "1.15.1")
    conf = yaml.safe_load(release["values"]["custom"]["scheduler_config_override"])
    actions = [a.strip() for a in conf["actions"].split(",")]
    assert actions == ["enqueue", "allocate", "preempt", "reclaim", "backfill"]
    plugins = {p["name"] for tier in conf["tiers"] for p in tier["plugins"]}
    default_plugins = {p["name"] for tier in default["tiers"] for p in tier["plugins"]}
    # capacity replaces proportion (they are exclusive); everything else of the default stays, gang included.
    assert plugins == (default_plugins - {"proportion"}) | {"capacity"}
    capacity = next(p for tier in conf["tiers"] for p in tier["plugins"] if p["name"] == "capacity")
    assert capacity.get("enableHierarchy") is True


def test_pure_plans_validate_for_every_cloud(upstream: Path) -> None:
    env = load_environment(RICH)
    objs: list[dict[str, Any]] = []
    for cluster in env.clusters:
        pools = resolve_cluster_pools(cluster)
        if cluster.scheduler == "kueue":
            p = kueue.plan(env, cluster, pools, "monitoring")
            objs += p.custom_objects() + p.team_objects
        else:
            v = volcano.plan(env, cluster, pools)
            objs += v.queues + v.builtin_objects
    report = validate_objects(objs, crds_dir=upstream)
    assert report.problems == [], report.format()
    assert report.objects == len(objs)
