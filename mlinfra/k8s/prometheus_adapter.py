"""prometheus-adapter: per-pod GPU metrics served on the custom metrics API, and which metrics rules expose."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mlinfra.k8s.monitoring_rules import DCGM_NAMESPACE_LABEL, DCGM_POD_LABEL, UTILIZATION_FIELDS

# Names on the custom metrics API (`pods/<name>`), what an HPA's Pods metric refers to.
GPU_UTILIZATION_METRIC = "gpu_utilization"
GPU_MEMORY_METRIC = "gpu_memory_used_percent"
# The adapter's HTTPS port (`listenPort`, prometheus-adapter 5.3.0 values.yaml), which its APIService reaches
# through the Service; set explicitly so the GKE control-plane firewall rule follows it.
LISTEN_PORT = 6443

_SERIES_NAME_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
_POD_RESOURCES = {
    "overrides": {DCGM_NAMESPACE_LABEL: {"resource": "namespace"}, DCGM_POD_LABEL: {"resource": "pod"}}
}
_POD_SERIES = f'{{{DCGM_NAMESPACE_LABEL}!="",{DCGM_POD_LABEL}!=""}}'


def gpu_adapter_rules(mig: bool = False) -> list[dict[str, Any]]:
    """Adapter rules exposing a pod's GPU utilisation and memory use (%), averaged over the GPUs it holds.

    The pod and namespace come from the exporter's pod mapping, so only GPUs held by a pod count. `mig`: the
    cluster has MIG pools, so utilisation is DCGM_FI_PROF_GR_ENGINE_ACTIVE in percent, which MIG devices
    report (see `monitoring_rules.UTILIZATION_FIELDS`); the served name stays `gpu_utilization` either way.
    """
    field, scale = UTILIZATION_FIELDS[mig]
    return [
        {
            "seriesQuery": f"{field}{_POD_SERIES}",
            "resources": _POD_RESOURCES,
            "name": {"matches": f"^{field}$", "as": GPU_UTILIZATION_METRIC},
            "metricsQuery": f"avg by (<<.GroupBy>>) (avg_over_time(<<.Series>>{{<<.LabelMatchers>>}}[2m])){scale}",
        },
        {
            "seriesQuery": f"DCGM_FI_DEV_FB_USED{_POD_SERIES}",
            "resources": _POD_RESOURCES,
            "name": {"matches": "^DCGM_FI_DEV_FB_USED$", "as": GPU_MEMORY_METRIC},
            "metricsQuery": "avg by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>} / "
            "(<<.Series>>{<<.LabelMatchers>>} + DCGM_FI_DEV_FB_FREE{<<.LabelMatchers>>}) * 100)",
        },
    ]


def exposed_metrics(rules: Iterable[dict[str, Any]]) -> set[str]:
    """Custom-metric names the adapter serves for these rules.

    Applies each rule's `name.matches`/`name.as` to the series name in its `seriesQuery` the way the adapter
    does (`as` defaults to the first capture group, or the whole name without groups). A series query that
    does not start with a metric name (`{__name__=~"..."}`) cannot be known statically and exposes nothing
    here, so an HPA on it is refused rather than trusted.
    """
    out: set[str] = set()
    for rule in rules:
        found = _SERIES_NAME_RE.match(rule.get("seriesQuery", ""))
        if not found:
            continue
        series = found.group(1)
        naming = rule.get("name") or {}
        matches = naming.get("matches") or ""
        pattern = re.compile(matches) if matches else None
        hit = pattern.search(series) if pattern else None
        if pattern is not None and hit is None:
            continue
        default_as = "$1" if pattern is not None and pattern.groups else "$0"
        template = naming.get("as") or default_as
        if hit is None:
            out.add(series if template in ("$0", "$1") else template)
            continue
        groups = [hit.group(0), *hit.groups()]
        out.add(re.sub(r"\$\{?(\d+)\}?", lambda m, g=groups: g[int(m.group(1))] or "", template))
    return out


def adapter_values(prometheus_url: str, prometheus_port: int, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """prometheus-adapter chart values: the stack's Prometheus, the default resource rules and `rules`."""
    return {
        "prometheus": {"url": prometheus_url, "port": prometheus_port},
        "listenPort": LISTEN_PORT,
        "rules": {"default": True, "custom": rules},
        "replicas": 2,
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
    }
