"""Volcano: team queues from quotas, cohort parent queues, the scheduler conf, the render."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS

from mlinfra.k8s import volcano
from mlinfra.offline.render import render_environment
from mlinfra.spec.scheduling import QuotaSpec, TeamSpec

GPU = "nvidia.com/gpu"


@pytest.mark.parametrize(
    ("team", "quota", "expected"),
    [
        ("no cohort: capability is the nominal quota",
         {"flavor": "a", "resources": {GPU: 4, "cpu": 8}},
         {"weight": 1, "reclaimable": True, "deserved": {"cpu": 8, GPU: 4}, "capability": {"cpu": 8, GPU: 4}}),
        ("cohort without borrowing limits: no capability cap",
         {"flavor": "a", "resources": {GPU: 4}},
         {"weight": 1, "reclaimable": True, "deserved": {GPU: 4}, "parent": "ml"}),
        ("cohort with borrowing and lending limits",
         {"flavor": "a", "resources": {GPU: 4, "memory": "16Gi"},
          "borrowing_limit": {GPU: 2, "memory": "16Gi"}, "lending_limit": {GPU: 1}},
         {"weight": 1, "reclaimable": True, "deserved": {"memory": "16384Mi", GPU: 4},
          "capability": {"memory": "32768Mi", GPU: 6}, "guarantee": {"resource": {"memory": "16384Mi", GPU: 3}},
          "parent": "ml"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_team_queue_maps_quotas(team: str, quota: dict[str, Any], expected: dict[str, Any]) -> None:
    cohort = None if team.startswith("no cohort") else "ml"
    queue = volcano.team_queue(TeamSpec(name="vision", cluster="c", cohort=cohort), [QuotaSpec(**quota)])
    assert queue["apiVersion"] == "scheduling.volcano.sh/v1beta1"
    assert queue["metadata"] == {"name": "vision"}
    assert queue["spec"] == expected


def test_quotas_over_several_flavors_add_up() -> None:
    queue = volcano.team_queue(
        TeamSpec(name="v", cluster="c", fair_sharing_weight=3),
        [QuotaSpec(flavor="a", resources={GPU: 2}), QuotaSpec(flavor="b", resources={GPU: 3})],
    )
    assert queue["spec"]["deserved"] == {GPU: 5}
    assert queue["spec"]["weight"] == 3


@pytest.mark.parametrize("hierarchical", [False, True])
def test_scheduler_conf_enables_gang_preempt_and_reclaim(hierarchical: bool) -> None:
    conf = volcano.scheduler_conf(hierarchical)
    assert "preempt" in conf["actions"] and "reclaim" in conf["actions"]
    plugins = {p["name"]: p for tier in conf["tiers"] for p in tier["plugins"]}
    assert "gang" in plugins and "proportion" not in plugins
    assert plugins["capacity"].get("enableHierarchy", False) is hierarchical


def spec() -> dict[str, Any]:
    return {
        "environment": "t",
        "clusters": [{"name": "batch", "cloud": "gcp", "endpoint": DEPLOYERS,
                      "region": "us-central1", "project": "p", "scheduler": "volcano",
                      "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 4}]}],
        "scheduling": {
            "cohorts": [{"name": "ml", "cluster": "batch", "parent": "org", "fair_sharing_weight": 2}],
            "teams": [{"name": "vision", "cluster": "batch", "cohort": "ml"}, {"name": "speech", "cluster": "batch"}],
        },
    }


def test_render_creates_queues_priority_classes_and_namespaces_but_no_kueue() -> None:
    files = render_environment(spec())
    queues = {yaml.safe_load(t)["metadata"]["name"]: yaml.safe_load(t)["spec"]
              for f, t in files.items() if "/Queue-" in f}
    assert set(queues) == {"org", "ml", "vision", "speech"}
    assert queues["org"]["parent"] == "root"
    assert (queues["ml"]["parent"], queues["ml"]["weight"]) == ("org", 2)
    assert queues["vision"]["parent"] == "ml" and "parent" not in queues["speech"]
    pc = yaml.safe_load(files["manifests/batch/_cluster/PriorityClass-batch-high.yaml"])
    assert (pc["value"], pc["globalDefault"]) == (10000, False)
    assert "manifests/batch/_cluster/Namespace-vision.yaml" in files
    release = yaml.safe_load(files["helm/batch/volcano.yaml"])
    assert (release["chart"], release["version"], release["namespace"]) == ("volcano", "1.15.1", "volcano-system")
    assert release["values"]["basic"]["image_tag_version"] == "v1.15.1"
    assert not [f for f in files if "kueue" in f or "ClusterQueue" in f]
    resources = json.loads(files["resources.json"])
    component = next(r for r in resources if r["type"] == "mlinfra:volcano:Volcano")
    assert (component["name"], component["parent"]) == ("batch-volcano", "batch")
