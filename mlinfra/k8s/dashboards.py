"""Grafana dashboards for GPU use, as ConfigMaps the Grafana sidecar loads."""

from __future__ import annotations

import json
from typing import Any

from mlinfra.k8s.monitoring_rules import DCGM_NAMESPACE_LABEL, DCGM_POD_LABEL
from mlinfra.spec.resolve import LABEL_POOL

# The sidecar of kube-prometheus-stack's Grafana loads ConfigMaps carrying this label (its defaults).
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
# kube-state-metrics exposes a node label as `label_<name with / . - as _>` once it is allow-listed.
POOL_LABEL = "label_" + "".join(c if c.isalnum() else "_" for c in LABEL_POOL)

_UTIL = "DCGM_FI_DEV_GPU_UTIL"
_MEM_PCT = "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * 100"
# The exporter's Hostname label is the node name; kube_node_labels carries the pool label per node.
_POOL_JOIN = (
    ' * on(Hostname) group_left({pool}) label_replace(kube_node_labels, "Hostname", "$1", "node", "(.*)")'
).replace("{pool}", POOL_LABEL)


def _panel(title: str, expr: str, legend: str, unit: str, x: int, y: int) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
    }


def _dashboard(uid: str, title: str, panels: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["mlinfra", "gpu"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]
        },
        "panels": [
            _panel(t, e, legend, unit, 12 * (i % 2), 8 * (i // 2)) for i, (t, e, legend, unit) in enumerate(panels)
        ],
    }


def gpu_dashboards(cluster: str) -> dict[str, dict[str, Any]]:
    """The GPU dashboards of one cluster, by file name: utilisation and memory per cluster, pool and node,
    and per team namespace and MIG instance."""
    by_pool = f"avg by ({POOL_LABEL}) ({_UTIL}{_POOL_JOIN})"
    mem_by_pool = f"avg by ({POOL_LABEL}) (({_MEM_PCT}){_POOL_JOIN})"
    infra = _dashboard(
        "mlinfra-gpu-infra",
        f"GPUs: cluster {cluster}, pools and nodes",
        [
            ("GPU utilisation, cluster", f"avg({_UTIL})", cluster, "percent"),
            ("GPU memory used, cluster", f"avg({_MEM_PCT})", cluster, "percent"),
            ("GPU utilisation by pool", by_pool, f"{{{{{POOL_LABEL}}}}}", "percent"),
            ("GPU memory used by pool", mem_by_pool, f"{{{{{POOL_LABEL}}}}}", "percent"),
            ("GPU utilisation by node", f"avg by (Hostname) ({_UTIL})", "{{Hostname}}", "percent"),
            ("GPU memory used by node", f"avg by (Hostname) ({_MEM_PCT})", "{{Hostname}}", "percent"),
        ],
    )
    ns, pod = DCGM_NAMESPACE_LABEL, DCGM_POD_LABEL
    teams = _dashboard(
        "mlinfra-gpu-teams",
        f"GPUs: teams and MIG instances on {cluster}",
        [
            ("GPU utilisation by team namespace", f'avg by ({ns}) ({_UTIL}{{{ns}!=""}})', f"{{{{{ns}}}}}", "percent"),
            ("GPUs held by team namespace", f'count by ({ns}) ({_UTIL}{{{ns}!=""}})', f"{{{{{ns}}}}}", "short"),
            ("GPU memory used by team namespace", f'sum by ({ns}) (DCGM_FI_DEV_FB_USED{{{ns}!=""}})',
             f"{{{{{ns}}}}}", "decmbytes"),
            ("GPU utilisation by pod", f'avg by ({ns}, {pod}) ({_UTIL}{{{pod}!=""}})', f"{{{{{ns}}}}}/{{{{{pod}}}}}",
             "percent"),
            # MIG instances report engine activity (0-1) rather than GPU_UTIL, labelled with their profile.
            ("MIG instance activity", 'avg by (Hostname, gpu, GPU_I_PROFILE, GPU_I_ID) '
             '(DCGM_FI_PROF_GR_ENGINE_ACTIVE{GPU_I_ID!=""}) * 100',
             "{{Hostname}} gpu {{gpu}} {{GPU_I_PROFILE}} #{{GPU_I_ID}}", "percent"),
            ("MIG instance memory used", 'sum by (Hostname, gpu, GPU_I_PROFILE, GPU_I_ID) '
             '(DCGM_FI_DEV_FB_USED{GPU_I_ID!=""})',
             "{{Hostname}} gpu {{gpu}} {{GPU_I_PROFILE}} #{{GPU_I_ID}}", "decmbytes"),
        ],
    )
    return {"gpu-infra.json": infra, "gpu-teams.json": teams}


def dashboard_configmaps(cluster: str, namespace: str) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard, labelled for the Grafana sidecar."""
    out = []
    for filename, board in sorted(gpu_dashboards(cluster).items()):
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"dashboard-{filename.removesuffix('.json')}",
                    "namespace": namespace,
                    "labels": dict(DASHBOARD_LABEL),
                },
                "data": {filename: json.dumps(board, indent=1, sort_keys=True)},
            }
        )
    return out


def dashboard_queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard (tests parse them with promtool)."""
    return [t["expr"] for p in board["panels"] for t in p["targets"]]
