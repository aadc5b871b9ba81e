"""Volcano: team queues from quotas, cohort parent queues, the scheduler conf, the render."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS

from mlinfra.k8s import volcano
from mlinfra.offline.render import StackConfig, render_environment, run_program
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import resolve_cluster_pools
from mlinfra.spec.scheduling import QuotaSpec, TeamSpec, parse_quantity

GPU = "nvidia.com/gpu"


@pytest.mark.parametrize(
    ("team", "quotas", "expected"),
    [
        ("no cohort: capability is the nominal quota",
         [{"flavor": "a", "resources": {GPU: 4, "cpu": 8}}],
         {"weight": 1, "reclaimable": True, "deserved": {"cpu": 8, GPU: 4}, "capability": {"cpu": 8, GPU: 4}}),
        ("cohort without borrowing limits: no capability cap",
         [{"flavor": "a", "resources": {GPU: 4}}],
         {"weight": 1, "reclaimable": True, "deserved": {GPU: 4}, "parent": "ml"}),
        # The issue's input: a limit on the GPUs only still caps the GPUs; cpu and memory stay unlimited.
        ("cohort with a borrowing limit on one resource only",
         [{"flavor": "a", "resources": {GPU: 8, "cpu": 100, "memory": "800Gi"}, "borrowing_limit": {GPU: 8}}],
         {"weight": 1, "reclaimable": True, "deserved": {"cpu": 100, "memory": "800Gi", GPU: 8},
          "capability": {GPU: 16}, "parent": "ml"}),
        # Kueue lends everything a resource has no lending limit for, so only the GPUs are guaranteed.
        ("cohort with borrowing and lending limits",
         [{"flavor": "a", "resources": {GPU: 4, "memory": "16Gi"},
           "borrowing_limit": {GPU: 2, "memory": "16Gi"}, "lending_limit": {GPU: 1}}],
         {"weight": 1, "reclaimable": True, "deserved": {"memory": "16Gi", GPU: 4},
          "capability": {"memory": "32Gi", GPU: 6}, "guarantee": {"resource": {GPU: 3}}, "parent": "ml"}),
        # Over two flavors: the GPUs of flavor b may be borrowed without limit, so no GPU cap at all; the
        # guarantee is what flavor a keeps, and flavor b's unlimited lending keeps nothing.
        ("cohort, two flavors, limits on one",
         [{"flavor": "a", "resources": {GPU: 4, "memory": "800Gi"}, "borrowing_limit": {GPU: 4, "memory": "1Ti"},
           "lending_limit": {GPU: 1}},
          {"flavor": "b", "resources": {GPU: 2}}],
         {"weight": 1, "reclaimable": True, "deserved": {"memory": "800Gi", GPU: 6},
          "capability": {"memory": "1824Gi"}, "guarantee": {"resource": {GPU: 3}}, "parent": "ml"}),
        ("cohort, lending everything: no guarantee",
         [{"flavor": "a", "resources": {GPU: 2, "cpu": "1500m"}, "lending_limit": {GPU: 2}}],
         {"weight": 1, "reclaimable": True, "deserved": {"cpu": "1500m", GPU: 2}, "parent": "ml"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_team_queue_maps_quotas(team: str, quotas: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    cohort = None if team.startswith("no cohort") else "ml"
    queue = volcano.team_queue(TeamSpec(name="vision", cluster="c", cohort=cohort), [QuotaSpec(**q) for q in quotas])
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


# -- the queue tree against Volcano's queue webhook ---------------------------------------------------------


def _amounts(resources: dict[str, Any] | None) -> dict[str, Decimal]:
    return {r: parse_quantity(v) for r, v in (resources or {}).items()}


def webhook_refusals(queues: list[dict[str, Any]]) -> list[str]:
    """What Volcano's queue admission webhook would refuse, creating the queues in order.

    Transcribes volcano-sh/volcano@v1.15.1 pkg/webhooks/admission/queues/validate/validate_queue.go:
    `validateResourceQuantityOfQueue` (guarantee <= deserved, a guaranteed resource needs a deserved one,
    deserved <= capability where set), `validateHierarchicalQueue` (the parent exists, depth at most 5, root
    not counted), `validateSiblingsSum` (children's deserved and guarantee add up to no more than the
    parent's, a resource the parent leaves out counting as zero: volcano#5634) and `validateChildAgainstAncestor`
    (capability within the nearest ancestor's). Children of `root` are not checked against it.
    """
    made: dict[str, dict[str, Any]] = {"root": {}}
    refused = []
    for q in queues:
        name, spec = q["metadata"]["name"], q["spec"]
        deserved, capability = _amounts(spec.get("deserved")), _amounts(spec.get("capability"))
        guarantee = _amounts(spec.get("guarantee", {}).get("resource"))
        for r, g in guarantee.items():
            if r not in deserved or deserved[r] < g:
                refused.append(f"{name}: guarantee[{r}] above deserved")
        for r, d in deserved.items():
            if r in capability and d > capability[r]:
                refused.append(f"{name}: deserved[{r}] above capability")
        parent = spec.get("parent", "root")
        if parent not in made:
            refused.append(f"{name}: parent {parent} does not exist")
        elif parent != "root":
            depth, node = 1, parent
            while node != "root":
                depth, node = depth + 1, made[node].get("parent", "root")
            if depth > 5:
                refused.append(f"{name}: deeper than 5")
            siblings = [x for x in made.values() if x.get("parent") == parent] + [spec]
            pspec = made[parent]
            for part, key in (("deserved", None), ("guarantee", "resource")):
                limit = _amounts(pspec.get(part) if key is None else pspec.get(part, {}).get(key))
                total: dict[str, Decimal] = {}
                for sib in siblings:
                    own = _amounts(sib.get(part) if key is None else sib.get(part, {}).get(key))
                    for r, v in own.items():
                        total[r] = total.get(r, Decimal(0)) + v
                for r, v in total.items():
                    if v > limit.get(r, Decimal(0)):
                        refused.append(f"{name}: {part}[{r}] of the children above parent {parent}'s")
            node = parent
            while node != "root":
                ancestor = _amounts(made[node].get("capability"))
                if ancestor:
                    for r, v in capability.items():
                        if r in ancestor and v > ancestor[r]:
                            refused.append(f"{name}: capability[{r}] above ancestor {node}'s")
                    break
                node = made[node].get("parent", "root")
        made[name] = spec
    return refused


def gke_volcano(teams: list[dict[str, Any]], cohorts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A GKE cluster running Volcano with one H100 pool: 2 nodes of 8 GPUs, 208 vCPU, 1872 GB."""
    return {
        "environment": "t",
        "clusters": [{"name": "gke", "cloud": "gcp", "region": "us-central1", "project": "p", "endpoint": DEPLOYERS,
                      "scheduler": "volcano",
                      "pools": [{"name": "h100", "gpu": "H100-80GB", "machine_type": "a3-highgpu-8g",
                                 "max_nodes": 4}]}],
        "scheduling": {"teams": teams, "cohorts": cohorts or []},
    }


def _queues(spec: dict[str, Any]) -> list[dict[str, Any]]:
    env = load_environment(spec)
    cluster = env.clusters[0]
    return volcano.plan(env, cluster, resolve_cluster_pools(cluster)).queues


def test_issue_input_cohort_queue_carries_the_sum_and_the_webhook_admits_every_queue() -> None:
    queues = _queues(gke_volcano([
        {"name": "team-a", "cluster": "gke", "cohort": "org",
         "quotas": [{"flavor": "h100", "resources": {GPU: 8, "cpu": 100, "memory": "800Gi"},
                     "borrowing_limit": {GPU: 8}}]},
        {"name": "team-b", "cluster": "gke", "cohort": "org",
         "quotas": [{"flavor": "h100", "resources": {GPU: 8, "cpu": 100, "memory": "800Gi"}}]},
    ]))
    by_name = {q["metadata"]["name"]: q["spec"] for q in queues}
    assert [q["metadata"]["name"] for q in queues] == ["org", "team-a", "team-b"]
    assert by_name["org"] == {"weight": 1, "reclaimable": True, "parent": "root",
                              "deserved": {"cpu": 200, "memory": "1600Gi", GPU: 16}}
    assert by_name["team-a"]["capability"] == {GPU: 16}
    assert "capability" not in by_name["team-b"]
    assert webhook_refusals(queues) == []


def test_three_levels_mixed_resources_and_units_add_up_at_every_level() -> None:
    teams = [
        {"name": "nlp", "cluster": "gke", "cohort": "ml",
         "quotas": [{"flavor": "h100", "resources": {GPU: 8, "cpu": "100", "memory": "800Gi"},
                     "lending_limit": {GPU: 2}}]},
        {"name": "vision", "cluster": "gke", "cohort": "ml",
         "quotas": [{"flavor": "h100", "resources": {GPU: 4, "cpu": "50500m", "memory": "1Ti"},
                     "lending_limit": {"memory": "512Gi"}}]},
        {"name": "infra", "cluster": "gke", "cohort": "platform",
         "quotas": [{"flavor": "h100", "resources": {GPU: 2, "cpu": "0.5", "memory": "1536Mi"}}]},
        # A team straight under the top cohort, and one with no cohort at all (under root, no sums).
        {"name": "lead", "cluster": "gke", "cohort": "org",
         "quotas": [{"flavor": "h100", "resources": {GPU: 1, "cpu": 10, "memory": "64Gi"}}]},
        {"name": "solo", "cluster": "gke",
         "quotas": [{"flavor": "h100", "resources": {GPU: 1, "cpu": 1, "memory": "1Gi"}}]},
    ]
    cohorts = [{"name": "org", "cluster": "gke"}, {"name": "ml", "cluster": "gke", "parent": "research"},
               {"name": "research", "cluster": "gke", "parent": "org"},
               {"name": "platform", "cluster": "gke", "parent": "org"}]
    queues = _queues(gke_volcano(teams, cohorts))
    by_name = {q["metadata"]["name"]: q["spec"] for q in queues}
    # 800Gi + 1Ti = 1824Gi; 100 + 50.5 cores = 150500m.
    assert by_name["ml"]["deserved"] == {"cpu": "150500m", "memory": "1824Gi", GPU: 12}
    assert by_name["ml"]["guarantee"] == {"resource": {"memory": "512Gi", GPU: 6}}
    assert by_name["research"]["deserved"] == by_name["ml"]["deserved"]
    assert by_name["platform"]["deserved"] == {"cpu": "500m", "memory": "1536Mi", GPU: 2}
    assert "guarantee" not in by_name["platform"]
    # org: research + platform + lead = 12+2+1 GPUs; 150.5+0.5+10 cores; 1824Gi + 1.5Gi + 64Gi.
    assert by_name["org"]["deserved"] == {"cpu": 161, "memory": "1934848Mi", GPU: 15}
    assert by_name["org"]["parent"] == "root"
    assert (by_name["research"]["parent"], by_name["ml"]["parent"]) == ("org", "research")
    assert "deserved" not in by_name.get("root", {}) and "root" not in by_name
    # Parents come before their children, so the webhook finds each parent.
    assert webhook_refusals(queues) == []


def test_the_webhook_model_refuses_what_the_old_render_made() -> None:
    """The check above can fail: a cohort queue without deserved is refused as soon as a child sets one."""
    old = [
        {"metadata": {"name": "org"}, "spec": {"parent": "root"}},
        {"metadata": {"name": "a"}, "spec": {"parent": "org", "deserved": {GPU: 8}}},
    ]
    assert webhook_refusals(old) == ["a: deserved[nvidia.com/gpu] of the children above parent org's"]


def test_cohorts_over_a_team_without_quotas_carry_its_default_share() -> None:
    cohorts = [{"name": "top", "cluster": "gke"}, {"name": "ml", "cluster": "gke", "parent": "top"}]
    queues = _queues(gke_volcano([{"name": "a", "cluster": "gke", "cohort": "ml"}], cohorts))
    by_name = {q["metadata"]["name"]: q["spec"] for q in queues}
    # Team a has no quotas: it gets the whole pool (the default split), and the cohorts carry it.
    assert by_name["ml"]["deserved"] == by_name["a"]["deserved"] == by_name["top"]["deserved"]
    assert webhook_refusals(queues) == []


def test_child_queues_wait_for_their_parent_queue() -> None:
    """The webhook looks the parent up on create; Pulumi creates in parallel unless told to wait."""
    env = load_environment(gke_volcano(
        [{"name": "a", "cluster": "gke", "cohort": "ml"}],
        [{"name": "top", "cluster": "gke"}, {"name": "ml", "cluster": "gke", "parent": "top"}]))
    cluster = env.clusters[0]
    plan = volcano.plan(env, cluster, resolve_cluster_pools(cluster))

    def program() -> None:
        volcano.Volcano("v", volcano.VolcanoArgs(values=plan.values, queues=plan.queues))

    registrations = run_program(program, StackConfig("mlinfra", "test", {}, []))
    by_name = {r.name: r for r in registrations}
    urn = {r.name: r.urn for r in registrations}
    assert urn["v-queue-top"] in by_name["v-queue-ml"].dependencies
    assert urn["v-queue-ml"] in by_name["v-queue-a"].dependencies
    assert urn["v-release"] in by_name["v-queue-top"].dependencies
