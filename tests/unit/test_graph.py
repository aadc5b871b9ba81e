"""The dependency graph in resources.json, and the graph rules (MLI-GRAPH-*) that read it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from mlinfra.catalog.crd_owners import CHART_RENDERS, CRD_OWNERS
from mlinfra.catalog.versions import CHARTS
from mlinfra.offline.graph import Graph
from mlinfra.offline.render import render_stack
from mlinfra.policy import evaluate
from mlinfra.policy.engine import all_rules
from mlinfra.policy.rules.graph import api_group

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")
GRAPH_RULES = ("MLI-GRAPH-001", "MLI-GRAPH-002", "MLI-GRAPH-003", "MLI-GRAPH-004")


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {s: json.loads(render_stack(s, project_dir=ROOT)[0]["resources.json"]) for s in STACKS}


def findings(records: list[dict], rule_id: str) -> list[tuple[str, str]]:
    rule = next(r for r in all_rules() if r.id == rule_id)
    return [(f.resource, f.message) for f in evaluate(records, selected=[rule]).findings]


def _record(records: list[dict], name: str) -> dict:
    return next(r for r in records if r["name"] == name)


# --- what resources.json records ---------------------------------------------------------------------------


def test_every_resource_records_its_dependencies(rendered):
    for stack, records in rendered.items():
        names = {r["name"] for r in records}
        for r in records:
            assert r["dependencies"] == sorted(set(r["dependencies"])), (stack, r["name"])
            assert set(r["dependencies"]) <= names, (stack, r["name"])
            for key, deps in r["propertyDependencies"].items():
                # A property dependency is one the engine waits for too.
                assert deps == sorted(deps) and set(deps) <= set(r["dependencies"]), (stack, r["name"], key)


def test_explicit_and_property_dependencies_are_both_recorded(rendered):
    records = rendered["dev"]
    cluster = _record(records, "gke-gke")
    # depends_on=grants (explicit) and the node service account's email in nodeConfig (an Output used as input).
    assert {"gke-nodes-artifactregistry.reader", "gke-nodes-container.defaultNodeServiceAccount"} <= set(
        cluster["dependencies"])
    assert cluster["propertyDependencies"]["nodeConfig"] == ["gke-nodes"]
    pool = next(r for r in records if r["type"] == "gcp:container/nodePool:NodePool")
    assert pool["propertyDependencies"]["cluster"] == ["gke-gke"]


# --- the rules pass on every render, and are not vacuous ----------------------------------------------------


@pytest.mark.parametrize("rule_id", GRAPH_RULES)
def test_graph_rules_pass_on_every_environment(rendered, rule_id):
    for stack, records in rendered.items():
        assert findings(records, rule_id) == [], stack


def test_graph_rules_see_custom_resources_and_identities(rendered):
    records = rendered["prod"]
    custom = [r for r in records if api_group(r) is not None]
    assert {api_group(r)[0] for r in custom} >= {"kueue.x-k8s.io", "monitoring.coreos.com", "data.fluid.io",
                                                 "karpenter.sh", "karpenter.k8s.aws"}
    graph = Graph(records)
    assert graph.cluster_of("gke-kueue-release") == "gke" and graph.cluster_of("eks-eks") == "eks"
    assert graph.cycle() is None


# --- removing an ordering fails a rule ------------------------------------------------------------------------


def _drop(records: list[dict], names: str | tuple[str, ...], *deps: str) -> list[dict]:
    out = copy.deepcopy(records)
    for name in (names,) if isinstance(names, str) else names:
        r = _record(out, name)
        assert set(deps) <= set(r["dependencies"]), f"{name} does not depend on {deps}: the test is stale"
        r["dependencies"] = [d for d in r["dependencies"] if d not in deps]
        r["propertyDependencies"] = {k: [d for d in v if d not in deps]
                                     for k, v in r["propertyDependencies"].items()}
    return out


def _add(records: list[dict], name: str, dep: str) -> list[dict]:
    out = copy.deepcopy(records)
    r = _record(out, name)
    r["dependencies"] = sorted({*r["dependencies"], dep})
    return out


# (stack, resource whose ordering is removed, the dependencies removed, rule, resource the finding is on)
REMOVED = [
    # dev's only pool shares L4s by time-slicing: the team's queue is its `shared` GPU-class queue.
    ("dev", "gke-kueue-clusterqueue-research-shared", ("gke-kueue-release",), "MLI-GRAPH-001",
     "gke-kueue-clusterqueue-research-shared"),
    ("prod", "gke-monitoring-gpu-alerts", ("gke-monitoring-stack",), "MLI-GRAPH-001", "gke-monitoring-gpu-alerts"),
    ("prod", "gke-fluid-corpus-dataset", ("gke-fluid-chart",), "MLI-GRAPH-001", "gke-fluid-corpus-dataset"),
    ("staging", "eks-karpenter-p5-spot-nodeclass", ("eks-karpenter-release",), "MLI-GRAPH-001",
     "eks-karpenter-p5-spot-nodeclass"),
    # A GPU node group waits for the node role's policies itself (its own depends_on).
    ("prod", "eks-p5-mig-ng", ("eks-node-role-0",), "MLI-GRAPH-002", "eks-p5-mig-ng"),
    ("prod", "eks-eks", ("eks-cluster-role-policy",), "MLI-GRAPH-002", "eks-eks"),
    ("prod", "eks-karpenter-release", ("eks-karpenter-controller-policy",), "MLI-GRAPH-002",
     "eks-karpenter-release"),
    # A GKE node pool waits for the node account's roles through its component's depends_on, and through the
    # cluster it is created in: only without both is it unordered.
    ("prod", ("gke-h100-train", "gke-gke"), ("gke-nodes-container.defaultNodeServiceAccount",), "MLI-GRAPH-002",
     ["gke-gke", "gke-h100-train-pool"]),
    ("prod", "gke-gke", ("gke-nodes-artifactregistry.reader",), "MLI-GRAPH-002", ["gke-gke"]),
    ("prod", "gke-fluid-runtime-sa", ("gke-fluid-reader-wi",), "MLI-GRAPH-002", "gke-fluid-runtime-sa"),
    # The Karpenter release skips its chart's CRDs: they come from the karpenter-crd release, which the
    # objects must reach even when they wait for the controller's release.
    ("prod", ("eks-karpenter-release", "eks-karpenter-p5-spot-nodepool", "eks-karpenter-p5-spot-nodeclass"),
     ("eks-karpenter-crd",), "MLI-GRAPH-001", ["eks-karpenter-p5-spot-nodeclass", "eks-karpenter-p5-spot-nodepool"]),
    # The cluster autoscaler runs as its role through EKS Pod Identity: its release names no role, but its
    # service account is bound to one, so it waits for the role's policy and for the association.
    ("prod", "eks-cluster-autoscaler-release", ("eks-cluster-autoscaler-policy",), "MLI-GRAPH-002",
     "eks-cluster-autoscaler-release"),
    ("prod", "eks-cluster-autoscaler-release", ("eks-cluster-autoscaler-pod-identity",), "MLI-GRAPH-002",
     "eks-cluster-autoscaler-release"),
    # Karpenter's nodes join with the node role's access entry: the node class that names the role waits for it.
    ("prod", ("eks-karpenter-release", "eks-karpenter-p5-spot-nodepool", "eks-karpenter-p5-spot-nodeclass"),
     ("eks-karpenter-node-access",), "MLI-GRAPH-002", "eks-karpenter-p5-spot-nodeclass"),
    # Kueue's chart renders a ServiceMonitor (enablePrometheus): its release waits, through its component, for
    # the kube-prometheus-stack release that installs the monitoring.coreos.com CRDs.
    ("prod", "gke-kueue", ("gke-monitoring-stack",), "MLI-GRAPH-001", "gke-kueue-release"),
    ("staging", "eks-kueue", ("eks-monitoring-stack",), "MLI-GRAPH-001", "eks-kueue-release"),
    # A managed node group waits for its role's policies through its launch template as well.
    ("prod", ("eks-default-lt", "eks-default"), ("eks-node-role-0", "eks-node-role-1"), "MLI-GRAPH-002",
     "eks-default"),
]


@pytest.mark.parametrize(("stack", "name", "deps", "rule_id", "flagged"), REMOVED,
                         ids=[f"{r[3]}-{r[1] if isinstance(r[1], str) else r[1][0]}" for r in REMOVED])
def test_removing_a_needed_ordering_fails(rendered, stack, name, deps, rule_id, flagged):
    assert findings(rendered[stack], rule_id) == []
    found = findings(_drop(rendered[stack], name, *deps), rule_id)
    assert sorted(r for r, _ in found) == ([flagged] if isinstance(flagged, str) else flagged)
    # The message names what is missing: the definer's chart, or the grant.
    assert all(any(d in message for d in deps) for _, message in found)


def test_a_dependency_on_another_cluster_fails(rendered):
    found = dict(findings(_add(rendered["prod"], "gke-kueue-release", "eks-kueue-release"), "MLI-GRAPH-003"))
    # The release, and everything on the GKE cluster that waits for it (the Kueue objects, the team datasets).
    assert "gke-kueue-release" in found and "gke-kueue-clusterqueue-nlp" in found
    assert all(name.startswith("gke-") for name in found)
    assert "eks-k8s (eks)" in found["gke-kueue-release"]


def test_a_cycle_fails(rendered):
    found = findings(_add(rendered["dev"], "gke-gke", "gke-kueue-release"), "MLI-GRAPH-004")
    assert len(found) == 1
    assert "gke-gke" in found[0][1] and "gke-k8s" in found[0][1] and "gke-kueue-release" in found[0][1]


def test_a_custom_resource_without_a_definer_fails(rendered):
    records = copy.deepcopy(rendered["dev"])
    records.append({"type": "kubernetes:example.com/v1:Widget", "name": "widget", "parent": None,
                    "provider": "gke-k8s", "dependencies": [], "propertyDependencies": {},
                    "inputs": {"apiVersion": "example.com/v1", "kind": "Widget"}})
    found = findings(records, "MLI-GRAPH-001")
    assert found == [("widget", "Widget (example.com): no CustomResourceDefinition of Widget.example.com "
                                "on provider 'gke-k8s' to define it")]


def test_code_that_drops_an_ordering_fails_the_check(monkeypatch):
    """Kueue's objects registered without waiting for the Kueue release (its CRDs and webhooks)."""
    import pulumi

    import mlinfra.k8s.kueue as kueue

    original = kueue.register_custom

    def without_depends_on(name, obj, opts):
        return original(name, obj, pulumi.ResourceOptions(parent=opts.parent))

    monkeypatch.setattr(kueue, "register_custom", without_depends_on)
    records = json.loads(render_stack("dev", project_dir=ROOT)[0]["resources.json"])
    flagged = {r for r, _ in findings(records, "MLI-GRAPH-001")}
    kueue_objects = {r["name"] for r in records if r["type"].startswith("kubernetes:kueue.x-k8s.io/")}
    assert kueue_objects and flagged == kueue_objects


# --- the graph itself -----------------------------------------------------------------------------------------


def _r(name, type_="aws:s3/bucket:Bucket", parent=None, provider=None, deps=()):
    return {"type": type_, "name": name, "parent": parent, "provider": provider, "dependencies": list(deps),
            "propertyDependencies": {}, "inputs": {}}


def test_a_child_waits_for_its_parents_dependencies_and_its_provider():
    records = [
        _r("db"), _r("comp", "mlinfra:x:Comp", deps=["db"]), _r("child", parent="comp", provider="p"),
        _r("p", "pulumi:providers:aws", deps=["cluster"]), _r("cluster"),
    ]
    graph = Graph(records)
    assert graph.reach("child") == {"comp", "db", "p", "cluster"}
    assert graph.order().index("db") < graph.order().index("child")
    assert not graph.is_custom("comp") and not graph.is_custom("p") and graph.is_custom("child")


def test_shared_names_are_told_apart_by_type():
    records = [_r("x"), _r("x", "aws:iam/role:Role")]
    assert set(Graph(records).records) == {"aws:s3/bucket:Bucket::x", "aws:iam/role:Role::x"}


@pytest.mark.parametrize(("type_", "expected"), [
    ("kubernetes:core/v1:Namespace", None),
    ("kubernetes:helm.sh/v3:Release", None),
    ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", None),
    ("kubernetes:core/v1:ServiceAccountPatch", None),
    ("aws:eks/cluster:Cluster", None),
    ("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue", ("kueue.x-k8s.io", "ClusterQueue")),
    ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", ("monitoring.coreos.com", "PrometheusRule")),
    ("kubernetes:example.com/v1:Widget", ("example.com", "Widget")),
])
def test_api_group_of_a_record(type_, expected):
    assert api_group({"type": type_}) == expected


# --- the CRD owner table against the pinned upstream CRDs -----------------------------------------------------

# Upstream folders whose CRDs a chart mlinfra installs ships (prometheus-operator's CRDs are vendored by
# kube-prometheus-stack); Alluxio's own operator is not installed (Fluid runs Alluxio).
UPSTREAM_FOLDER_CHART = {
    "prometheus-operator": "kube-prometheus-stack", "kueue": "kueue", "volcano": "volcano", "fluid": "fluid",
    "gpu-operator": "gpu-operator", "karpenter": "karpenter",
}


def test_crd_owners_match_the_upstream_crds(upstream):
    seen: dict[str, str] = {}
    for folder, chart in UPSTREAM_FOLDER_CHART.items():
        for path in sorted((upstream / folder).rglob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    seen[doc["spec"]["group"]] = chart
    assert seen == CRD_OWNERS
    assert set(CRD_OWNERS.values()) <= set(CHARTS)


def test_chart_renders_name_values_of_the_pinned_charts(upstream):
    """Each value that makes a chart render another chart's objects is a value of the chart at its pin."""
    for chart, rendered in CHART_RENDERS.items():
        values = yaml.safe_load((upstream / chart / f"v{CHARTS[chart].version}" / "values.yaml").read_text())
        for path, group in rendered:
            node = values
            for key in path.split("."):
                assert isinstance(node, dict) and key in node, (chart, path)
                node = node[key]
            assert group in CRD_OWNERS, (chart, group)


# --- diff shows dependency changes ----------------------------------------------------------------------------


def test_diff_shows_a_removed_and_an_added_ordering(rendered):
    from mlinfra.offline import diff

    base = rendered["prod"]
    head = _add(_drop(base, "gke-kueue-clusterqueue-nlp", "gke-kueue-release"), "gke-fluid-chart",
                "gke-kueue-namespace")

    def as_render(records):
        return diff.Render({(r["type"], r["name"]): r for r in records})

    d = diff.compute_diff(as_render(base), as_render(head))
    assert [(c.name, c.added, c.removed) for c in d.dependencies] == [
        ("gke-fluid-chart", ["gke-kueue-namespace"], []),
        ("gke-kueue-clusterqueue-nlp", [], ["gke-kueue-release"]),
    ]
    assert d.changed == [] and not d.empty  # no cloud change, but `pulumi up` orders differently
    text = diff.format_markdown(d)
    assert ("| `gke-kueue-clusterqueue-nlp` (kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue) | - | "
            "`gke-kueue-release` |") in text
    assert diff.compute_diff(as_render(base), as_render(base)).dependencies == []
