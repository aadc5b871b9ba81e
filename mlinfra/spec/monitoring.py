"""The GPU monitoring stack: Prometheus, DCGM metrics, alerts, dashboards, GPU-metric autoscaling."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from mlinfra.spec.base import SpecModel

# Prometheus' own duration syntax (units in descending order, each at most once), so a value can go
# straight into a rule's `for:` or the Prometheus `retention` without conversion.
DURATION_RE = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
_UNIT_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration (`90m` -> 5400); ValueError for anything else."""
    if not text or not DURATION_RE.match(text):
        raise ValueError(f"must be a Prometheus duration such as 30m, 1h or 15d (got {text!r})")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|y|w|d|h|m|s)", text))


def _positive_duration(text: str) -> str:
    if duration_seconds(text) <= 0:
        raise ValueError(f"must be a Prometheus duration longer than zero, such as 30m, 1h or 15d (got {text!r})")
    return text


Duration = Annotated[str, AfterValidator(_positive_duration)]
Percent = Annotated[float, Field(gt=0, le=100)]


class AlertsSpec(SpecModel):
    """Thresholds of the GPU alerts (the table in docs/monitoring.md lists every alert)."""

    gpu_idle_percent: Percent = Field(
        default=5, description="A GPU held by a pod below this utilisation (%) counts as idle. Default: 5."
    )
    gpu_idle_for: Duration = Field(
        default="1h",
        description="How long an allocated GPU must stay idle before `GpuAllocatedIdle` fires. Default: 1h.",
    )
    gpu_memory_full_percent: Percent = Field(
        default=95, description="Framebuffer use (%) at which `GpuMemoryNearFull` fires. Default: 95."
    )
    gpu_temperature_celsius: int = Field(
        default=87, ge=40, le=110,
        description="GPU temperature at which `GpuTemperatureHigh` fires (an early sign of thermal throttling). "
        "Default: 87.",
    )
    throttle_percent: Percent = Field(
        default=20, description="Share of time (%) a GPU spends throttled by power or heat before the throttling "
        "alerts fire. Default: 20.",
    )
    workloads_pending_for: Duration = Field(
        default="30m", description="How long a Kueue ClusterQueue may hold pending workloads without admitting any "
        "before `KueueWorkloadsPendingTooLong` fires (Kueue clusters only). Default: 30m.",
    )


class MonitoringSpec(SpecModel):
    """Monitoring installed on every cluster of the environment (kube-prometheus-stack, alerts, dashboards,
    prometheus-adapter)."""

    enabled: bool = Field(default=True, description="Install the monitoring stack. Default: on.")
    retention: Duration = Field(
        default="15d", description="How long Prometheus keeps samples (Prometheus duration). Default: 15d."
    )
    storage_gib: int = Field(
        default=50, ge=1, le=16384,
        description="Size of Prometheus' persistent volume in GiB; Prometheus also stops keeping samples at 85% "
        "of it so the disk never fills. Default: 50.",
    )
    storage_class: str | None = Field(
        default=None, description="StorageClass of the Prometheus volume. Default: the cluster's default class."
    )
    grafana_storage_gib: int | None = Field(
        default=None, ge=1, le=1024,
        description="Persistent volume for Grafana's database, in GiB. Default: none (dashboards come from "
        "ConfigMaps, so nothing is lost on restart but UI-made changes).",
    )
    autoscaling: bool = Field(
        default=True, description="Install prometheus-adapter so HPAs can scale on GPU utilisation. Default: on.",
    )
    alerts: AlertsSpec = Field(default_factory=lambda: AlertsSpec(), description="Alert thresholds.")
