"""GPU and queueing alert rules as Prometheus rule groups, built from the spec and what the exporter exports."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mlinfra.spec.monitoring import AlertsSpec

# The GPU operator's dcgm-exporter Service (and so the scrape job) is called this.
DCGM_JOB = "nvidia-dcgm-exporter"
# The operator's ServiceMonitor keeps `honorLabels: false`, so the exporter's pod-mapping labels
# `namespace`/`pod`/`container` clash with the target's own and Prometheus stores them as `exported_*`.
DCGM_NAMESPACE_LABEL = "exported_namespace"
DCGM_POD_LABEL = "exported_pod"
# kube-state-metrics reports a node's extended resources with every character outside [a-zA-Z0-9_] turned
# into `_` (kube-state-metrics pkg/util `SanitizeLabelName`): nvidia.com/mig-1g.10gb -> nvidia_com_mig_1g_10gb.
KSM_GPU_RESOURCE = "nvidia_com_gpu"
_KSM_INVALID = re.compile(r"[^a-zA-Z0-9_]")

# GPU utilisation in percent. DCGM_FI_DEV_GPU_UTIL is not reported for MIG devices (it reads 0 or is missing);
# NVIDIA's maintainers answer with DCGM_FI_PROF_GR_ENGINE_ACTIVE, a 0-1 ratio reported per MIG device and for
# whole GPUs alike (NVIDIA/dcgm-exporter#216, #430; NVIDIA/DCGM#80). A cluster with any MIG pool uses it for
# every GPU, so one alert and one adapter metric cover both kinds of node.
UTILIZATION_FIELDS = {False: ("DCGM_FI_DEV_GPU_UTIL", ""), True: ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", " * 100")}


def utilization_percent(selector: str, mig: bool) -> str:
    """PromQL for GPU utilisation in percent of the series matching `selector` (`{...}` or empty)."""
    field, scale = UTILIZATION_FIELDS[mig]
    return f"{field}{selector}{scale}"


def ksm_resource(resource: str) -> str:
    """An extended resource's name as kube-state-metrics labels it (`resource="..."`)."""
    return _KSM_INVALID.sub("_", resource)


def gpu_capacity_selector(gpu_resources: Iterable[str]) -> str:
    """The `resource` matcher of kube_node_status_capacity for every GPU resource the cluster advertises."""
    names = sorted({ksm_resource(r) for r in gpu_resources})
    if len(names) == 1:
        return f'resource="{names[0]}"'
    return f'resource=~"{"|".join(names)}"'

# XIDs that mean the GPU (not the program) is broken and the node needs draining: double-bit ECC (48),
# row-remap events (63, 64), NVLink (74), fallen off the bus (79), high single-bit ECC rate (92),
# uncontained/contained ECC (94, 95).
CRITICAL_XIDS = (48, 63, 64, 74, 79, 92, 94, 95)

_DCGM_FIELD_RE = re.compile(r"\bDCGM_(?:FI|EXP)_[A-Z0-9_]+\b")
# Bits of DCGM_FI_DEV_CLOCKS_EVENT_REASONS (NVML clocks-event reasons).
_POWER_BITS = (0x4, 0x80)  # software power cap, hardware power brake
_THERMAL_BITS = (0x20, 0x40)  # software and hardware thermal slowdown


def exported_dcgm_metrics() -> frozenset[str]:
    """The DCGM fields the cluster's exporter is configured with (the GPU operator's counter catalog)."""
    from mlinfra.catalog.dcgm import exported_metric_names

    return frozenset(exported_metric_names())


def dcgm_fields_used(groups: Iterable[dict[str, Any]]) -> set[str]:
    """Every DCGM field named in the rules' expressions (to check them against what the exporter exports)."""
    return {f for g in groups for r in g["rules"] for f in _DCGM_FIELD_RE.findall(r["expr"])}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def _bit_set(metric: str, bit: int) -> str:
    # PromQL has no bitwise operators; floor division and modulo pick one bit of the reasons mask.
    return f"(floor({metric} / {bit}) % 2)"


def _throttle_expr(kind: str, exported: frozenset[str], percent: float) -> str | None:
    """Share of time a GPU is throttled for power or heat, from the best field the exporter exports."""
    counter = f"DCGM_FI_DEV_{kind.upper()}_VIOLATION"
    if counter in exported:
        # Violation counters accumulate nanoseconds spent throttled (dcgm-exporter 4.x).
        return f"rate({counter}[10m]) / 1e9 * 100 > {_num(percent)}"
    for reasons in ("DCGM_FI_DEV_CLOCKS_EVENT_REASONS", "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS"):
        if reasons in exported:
            bits = _POWER_BITS if kind == "power" else _THERMAL_BITS
            # `or` would keep only the left side for equal label sets; adding the bits and clamping is the OR.
            flag = " + ".join(_bit_set(reasons, b) for b in bits)
            return f"avg_over_time(clamp_max({flag}, 1)[10m:1m]) * 100 > {_num(percent)}"
    return None


def gpu_alert_rules(
    alerts: AlertsSpec, exported: frozenset[str], mig: bool = False, gpu_resources: Iterable[str] = ("nvidia.com/gpu",)
) -> list[dict[str, Any]]:
    """The GPU health and usage alerts. Only fields in `exported` are used; an alert whose field the exporter
    does not export is left out (the contract tests require the project's exporter config to cover all).

    `mig`: the cluster has MIG pools, so utilisation comes from DCGM_FI_PROF_GR_ENGINE_ACTIVE
    (`utilization_percent`). `gpu_resources`: every extended resource the cluster's GPU nodes advertise
    (`nvidia.com/gpu`, `nvidia.com/mig-<profile>`, `nvidia.com/gpu.shared`...), which DcgmExporterDown keys on.
    """
    gpu = "GPU {{ $labels.gpu }} on {{ $labels.Hostname }}"
    pod = DCGM_POD_LABEL
    held = f'{{{DCGM_POD_LABEL}!=""}}'  # series of GPUs a pod holds
    # The XID field holds the last error's code; one comparison per code keeps the value (the code) intact.
    critical_xid = " or ".join(f"max_over_time(DCGM_FI_DEV_XID_ERRORS[5m]) == {x}" for x in CRITICAL_XIDS)
    rules = [
        _alert(
            "GpuXidErrorCritical",
            critical_xid,
            "", "critical",
            f"{gpu} reported a hardware XID error",
            f"XID {{{{ $value }}}} on {gpu}: the GPU needs a reset or the node a drain and replacement.",
        ),
        _alert(
            "GpuXidError",
            f"max_over_time(DCGM_FI_DEV_XID_ERRORS[5m]) > 0 unless ({critical_xid})",
            "", "warning",
            f"{gpu} reported an XID error",
            f"XID {{{{ $value }}}} on {gpu} (pod {{{{ $labels.{pod} }}}}): usually an application fault; "
            "repeated XIDs on one GPU point at the hardware.",
        ),
        _alert(
            "GpuRowRemapFailure",
            "DCGM_FI_DEV_ROW_REMAP_FAILURE > 0",
            "", "critical",
            f"{gpu} failed to remap a memory row",
            f"{gpu} has memory it can no longer repair; drain the node and replace the GPU.",
        ),
        _alert(
            "GpuUncorrectableMemoryError",
            "increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[1h]) > 0",
            "", "warning",
            f"{gpu} remapped a row after an uncorrectable ECC error",
            f"{gpu} hit an uncorrectable memory error; the remap takes effect after a GPU reset, so drain it.",
        ),
        _alert(
            "GpuEccDoubleBitErrors",
            "increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[1h]) > 0",
            "", "critical",
            f"{gpu} had double-bit ECC errors",
            f"{gpu} reported {{{{ $value }}}} uncorrectable (double-bit) ECC errors in the last hour; drain the node.",
        ),
        _alert(
            "GpuTemperatureHigh",
            f"DCGM_FI_DEV_GPU_TEMP > {alerts.gpu_temperature_celsius}",
            "10m", "warning",
            f"{gpu} is running hot",
            f"{gpu} is at {{{{ $value }}}} C (threshold {alerts.gpu_temperature_celsius} C); it will throttle soon.",
        ),
        _alert(
            "GpuMemoryNearFull",
            "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * 100 > "
            f"{_num(alerts.gpu_memory_full_percent)}",
            "15m", "warning",
            f"{gpu} memory is nearly full",
            f"{gpu} uses {{{{ $value | humanize }}}}% of its memory (pod {{{{ $labels.{pod} }}}}); "
            "the next allocation may fail with out-of-memory.",
        ),
        _alert(
            "GpuAllocatedIdle",
            f"{utilization_percent(held, mig)} < {_num(alerts.gpu_idle_percent)}",
            alerts.gpu_idle_for, "info",
            f"{gpu} is allocated but idle",
            f"Pod {{{{ $labels.{DCGM_NAMESPACE_LABEL} }}}}/{{{{ $labels.{pod} }}}} holds {gpu} below "
            f"{_num(alerts.gpu_idle_percent)}% utilisation for {alerts.gpu_idle_for}; release it for others.",
        ),
        _alert(
            "DcgmExporterDown",
            f"sum(kube_node_status_capacity{{{gpu_capacity_selector(gpu_resources)}}}) > 0 "
            f'unless on() (sum(up{{job="{DCGM_JOB}"}} == 1) > 0)',
            "10m", "critical",
            "No DCGM exporter is reporting GPU metrics",
            "The cluster has GPU nodes but no dcgm-exporter target is up: GPU alerts, dashboards and GPU "
            "autoscaling are blind.",
        ),
    ]
    for kind, title in (("thermal", "heat"), ("power", "power")):
        expr = _throttle_expr(kind, exported, alerts.throttle_percent)
        if expr is not None:
            rules.append(
                _alert(
                    f"Gpu{kind.capitalize()}Throttling",
                    expr,
                    "10m", "warning",
                    f"{gpu} is throttled by {title}",
                    f"{gpu} spent {{{{ $value | humanize }}}}% of the last 10 minutes throttled by {title} "
                    f"(threshold {_num(alerts.throttle_percent)}%).",
                )
            )
    return [r for r in rules if dcgm_fields_used([{"rules": [r]}]) <= exported]


def kueue_alert_rules(alerts: AlertsSpec) -> list[dict[str, Any]]:
    """Queueing alerts from Kueue's controller metrics."""
    window = alerts.workloads_pending_for
    return [
        _alert(
            "KueueWorkloadsPendingTooLong",
            "sum by (cluster_queue) (kueue_pending_workloads) > 0 unless on(cluster_queue) "
            f"(sum by (cluster_queue) (increase(kueue_admitted_workloads_total[{window}])) > 0)",
            window, "warning",
            "ClusterQueue {{ $labels.cluster_queue }} has workloads pending and admits none",
            "{{ $value }} workload(s) wait in ClusterQueue {{ $labels.cluster_queue }} and none was admitted for "
            f"{window}: the quota is used up or no flavor fits.",
        )
    ]


def rule_groups(
    alerts: AlertsSpec, exported: frozenset[str], kueue: bool, mig: bool = False,
    gpu_resources: Iterable[str] = ("nvidia.com/gpu",),
) -> list[dict[str, Any]]:
    """The rule groups of one cluster (the `spec.groups` of its PrometheusRule); `mig` and `gpu_resources`
    as in `gpu_alert_rules`."""
    groups = [{"name": "mlinfra-gpu", "rules": gpu_alert_rules(alerts, exported, mig, gpu_resources)}]
    if kueue:
        groups.append({"name": "mlinfra-kueue", "rules": kueue_alert_rules(alerts)})
    return groups


def prometheus_rule(name: str, namespace: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """A PrometheusRule object holding `groups`."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "mlinfra"}},
        "spec": {"groups": groups},
    }
