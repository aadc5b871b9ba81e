"""On GKE, every add-on namespace whose pods run at a critical priority holds the scoped ResourceQuota first.

GKE admits pods of `system-node-critical` / `system-cluster-critical` outside kube-system only in a namespace
holding a ResourceQuota scoped to those PriorityClasses (NVIDIA's GPU operator guide for GKE;
NVIDIA/gpu-operator#660; NVIDIA/aicr#915 and PR #921, which creates the quota before the chart's pods; and
aws-observability/helm-charts#358: "EKS and AKS do not gate priority classes this way"). Which releases need
it is read from the pinned charts' own values (../shared/upstream), merged with what mlinfra sets, never from
a list of names. Fluid's FUSE pods get `system-node-critical` from `runtime.criticalFusePod`
(fluid-cloudnative/fluid@v1.0.8 charts/alluxio/templates/fuse/daemonset.yaml).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from mlinfra.k8s.namespaces import CRITICAL_PRIORITY_CLASSES
from mlinfra.offline.helm_values import find_chart
from mlinfra.offline.render import read_stack_config, render_stack

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "kubernetes:helm.sh/v3:Release"
QUOTA = "kubernetes:core/v1:ResourceQuota"


def _merge(defaults: Any, ours: Any) -> Any:
    if isinstance(defaults, dict) and isinstance(ours, dict):
        return {k: _merge(defaults.get(k), ours.get(k)) if k in ours else defaults[k] for k in {*defaults, *ours}}
    return ours if ours is not None else defaults


def _runs_critical_pods(values: Any) -> bool:
    """A `priorityClassName` of a critical class anywhere in the values, or Fluid's critical FUSE pods."""
    if isinstance(values, dict):
        for key, value in values.items():
            if key == "priorityClassName" and value in CRITICAL_PRIORITY_CLASSES:
                return True
            if key == "criticalFusePod" and value is True:
                return True
            if _runs_critical_pods(value):
                return True
    if isinstance(values, list):
        return any(_runs_critical_pods(v) for v in values)
    return False


def _effective_values(upstream: Path, inputs: dict[str, Any]) -> Any:
    chart = find_chart(upstream, str(inputs["chart"]).rsplit("/", 1)[-1], str(inputs["version"]))
    assert not isinstance(chart, str), chart
    values = dict(chart.values or {})
    for key, sub in chart.subcharts.items():  # vendored subcharts (NFD in the GPU operator)
        values[key] = _merge(sub.values or {}, values.get(key) or {})
    return _merge(values, inputs.get("values") or {})


@functools.cache
def _resources(stack: str) -> tuple[dict[str, Any], ...]:
    files, _ = render_stack(stack, project_dir=ROOT)
    return tuple(json.loads(files["resources.json"]))


def _is_priority_quota(res: dict[str, Any]) -> bool:
    spec = res["inputs"].get("spec") or {}
    return res["type"] == QUOTA and any(
        e.get("scopeName") == "PriorityClass" for e in (spec.get("scopeSelector") or {}).get("matchExpressions", [])
    )


def _cluster(res: dict[str, Any]) -> str:
    return str(res["provider"]).removesuffix("-k8s")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_critical_priority_namespace_on_gke_has_the_quota_before_its_release(stack, upstream):
    resources = _resources(stack)
    clouds = {c["name"]: c["cloud"] for c in read_stack_config(stack, project_dir=ROOT).platform()["clusters"]}
    quotas = {(_cluster(r), r["inputs"]["metadata"]["namespace"]): r for r in resources if _is_priority_quota(r)}
    checked = 0
    for release in (r for r in resources if r["type"] == RELEASE):
        cluster, namespace = _cluster(release), release["inputs"]["namespace"]
        quota = quotas.get((cluster, namespace))
        if clouds[cluster] != "gcp":  # EKS gates no priority class
            assert quota is None, f"{stack}: {cluster}/{namespace} has a critical-pods quota it does not need"
            continue
        critical = _runs_critical_pods(_effective_values(upstream, release["inputs"]))
        if not critical:
            assert quota is None, f"{stack}: {cluster}/{namespace} has a critical-pods quota it does not need"
            continue
        checked += 1
        assert quota is not None, f"{stack}: {release['name']} runs critical-priority pods in {namespace}, no quota"
        selector = quota["inputs"]["spec"]["scopeSelector"]["matchExpressions"]
        assert selector == [{"operator": "In", "scopeName": "PriorityClass", "values": list(CRITICAL_PRIORITY_CLASSES)}]
        assert quota["name"] in release["dependencies"], f"{stack}: {release['name']} does not wait for its quota"
    assert checked, f"{stack}: no GKE release runs critical-priority pods; the test checked nothing"


def test_prod_quota_namespaces_are_the_gpu_operator_and_fluid(upstream):
    """What the values-derived rule above finds in prod (GKE with a cache; EKS without quotas)."""
    quotas = [r for r in _resources("prod") if _is_priority_quota(r)]
    found = sorted((_cluster(r), r["inputs"]["metadata"]["namespace"]) for r in quotas)
    assert found == [("gke", "fluid-system"), ("gke", "gpu-operator")]
