"""Time to a working platform: creation times in the catalog, the critical path in summary.md, and add-ons
that wait for exactly what they need."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mlinfra.catalog import timings
from mlinfra.offline.critical_path import critical_paths
from mlinfra.offline.graph import Graph
from mlinfra.offline.render import render_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[list[dict], str]]:
    out = {}
    for stack in STACKS:
        files, summary = render_stack(stack, project_dir=ROOT)
        out[stack] = (json.loads(files["resources.json"]), summary)
    return out


def test_every_timing_has_a_source_and_says_whether_it_is_an_estimate():
    table = {**timings.BY_TYPE, **timings.BY_CHART, "helm default": timings.HELM_DEFAULT,
             "api call": timings.API_CALL, "kubernetes object": timings.KUBERNETES_OBJECT,
             "workload": timings.WORKLOAD}
    for key, timing in table.items():
        assert timing.minutes > 0, key
        assert len(timing.source) > 20, key
        assert timing.estimate == ("estimate" in timing.source), key
    # The anchors the issue names: EKS clusters take 10-15 minutes, node groups 3-5.
    assert 10 <= timings.BY_TYPE["aws:eks/cluster:Cluster"].minutes <= 15
    assert 3 <= timings.BY_TYPE["aws:eks/nodeGroup:NodeGroup"].minutes <= 5
    assert timings.creation_time("mlinfra:index:Platform").minutes == 0
    # An EKS add-on is no single API call: the provider waits for it to be ACTIVE (terraform-provider-aws
    # internal/service/eks/addon.go, waitAddonCreated), so it costs more than one.
    assert timings.creation_time("aws:eks/addon:Addon").minutes > timings.API_CALL.minutes
    assert timings.creation_time("kubernetes:helm.sh/v3:Release", {"chart": "oci://x/kueue"}) is \
        timings.BY_CHART["kueue"]


def _r(name, type_, deps=(), parent=None, provider=None, inputs=None):
    return {"type": type_, "name": name, "parent": parent, "provider": provider, "dependencies": list(deps),
            "propertyDependencies": {}, "inputs": inputs or {}}


def test_the_critical_path_is_the_longest_chain_through_dependencies_parents_and_providers():
    records = [
        _r("c", "mlinfra:aws:EksCluster"),
        _r("role", "aws:iam/role:Role", parent="c"),
        _r("eks", "aws:eks/cluster:Cluster", deps=["role"], parent="c"),
        _r("ng", "aws:eks/nodeGroup:NodeGroup", deps=["eks"], parent="c"),
        _r("c-k8s", "pulumi:providers:kubernetes", deps=["eks"], parent="c"),
        _r("addon", "mlinfra:x:Addon", deps=["ng"], parent="c"),  # a component holding back its children
        _r("rel", "kubernetes:helm.sh/v3:Release", parent="addon", provider="c-k8s", inputs={"chart": "kueue"}),
    ]
    paths = critical_paths(records)
    eks = timings.BY_TYPE["aws:eks/cluster:Cluster"].minutes
    ng = timings.BY_TYPE["aws:eks/nodeGroup:NodeGroup"].minutes
    expected = timings.API_CALL.minutes + eks + ng + timings.BY_CHART["kueue"].minutes
    assert paths["c"].minutes == pytest.approx(expected)
    assert [name for name, _ in paths["c"].steps] == ["role", "eks", "ng", "rel"]
    assert paths[None] == paths["c"]


def test_the_summary_shows_the_critical_path_per_cluster_and_for_the_environment(rendered):
    for stack, (records, summary) in rendered.items():
        paths = critical_paths(records)
        section = summary.split("## Time to a working platform (estimated)")[1]
        clusters = sorted(k for k in paths if k is not None)
        assert clusters, stack
        for cluster in clusters:
            assert f"| {cluster} | " in section, stack
        assert paths[None].minutes == max(paths[c].minutes for c in clusters)
        assert "Whole stack: **" in section


def _reaches(records, src, dst):
    graph = Graph(records)
    return dst in graph.reach(src)


def test_addons_wait_only_for_the_crds_they_need(rendered):
    records, _ = rendered["prod"]
    names = {r["name"] for r in records}
    for cluster in ("gke", "eks"):
        # Needed: the ServiceMonitors of the GPU operator (dcgm-exporter) and of Kueue need the CRD that the
        # kube-prometheus-stack release installs.
        assert _reaches(records, f"{cluster}-gpu-operator-release", f"{cluster}-monitoring-stack")
        assert _reaches(records, f"{cluster}-kueue-release", f"{cluster}-monitoring-stack")
        # Not needed: the rest of monitoring, and the add-ons one after another.
        for release in (f"{cluster}-gpu-operator-release", f"{cluster}-kueue-release"):
            assert not _reaches(records, release, f"{cluster}-monitoring-adapter"), release
            assert not _reaches(records, release, f"{cluster}-monitoring-gpu-alerts"), release
        assert not _reaches(records, f"{cluster}-kueue-release", f"{cluster}-gpu-operator-release")
    team_datasets = [r["name"] for r in records
                     if r["type"].endswith(":Dataset") and r["name"] != "gke-fluid-corpus-dataset"]
    assert team_datasets
    for dataset in team_datasets:
        assert not _reaches(records, dataset, "gke-kueue-release"), dataset
        team = dataset.removeprefix("gke-fluid-").split("-")[0]
        assert _reaches(records, dataset, f"gke-kueue-namespace-{team}"), dataset
    assert "gke-monitoring-stack" in names


def test_volcano_waits_for_no_other_addon(rendered):
    records, _ = rendered["staging"]
    graph = Graph(records)
    release = next(r["name"] for r in records if r["type"] == "kubernetes:helm.sh/v3:Release"
                   and r["inputs"].get("chart", "").endswith("volcano"))
    cluster = graph.cluster_of(release)
    assert not any(d.startswith(f"{cluster}-monitoring") for d in graph.reach(release))


def test_removing_the_old_serial_order_shortens_the_critical_path(rendered):
    """The old program made Kueue wait for all of monitoring and the team datasets for all of Kueue: adding
    those orderings back must lengthen the path, or the change bought nothing."""
    records, _ = rendered["prod"]
    serial = copy.deepcopy(records)
    monitoring = [r["name"] for r in records if r["name"].startswith("gke-monitoring-") and r["parent"] != "gke"]
    kueue = [r["name"] for r in records if r["name"].startswith("gke-kueue-") and r["parent"] != "gke"]
    for r in serial:
        if r["name"] == "gke-kueue":
            r["dependencies"] = sorted({*r["dependencies"], *monitoring})
        if r["type"].endswith(":Dataset") and r["name"] != "gke-fluid-corpus-dataset":
            r["dependencies"] = sorted({*r["dependencies"], *kueue})
    assert critical_paths(serial)["gke"].minutes > critical_paths(records)["gke"].minutes
