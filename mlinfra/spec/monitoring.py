"""The GPU monitoring stack: Prometheus, DCGM metrics, alerts, dashboards, GPU-metric autoscaling."""

from __future__ import annotations

from pydantic import Field

from mlinfra.spec.base import SpecModel


class MonitoringSpec(SpecModel):
    """Monitoring installed on every cluster of the environment."""

    enabled: bool = Field(default=True, description="Install the monitoring stack. Default: on.")
