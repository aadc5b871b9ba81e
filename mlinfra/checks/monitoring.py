"""Cross-layer checks of the monitoring section, and of GPU-metric HPAs against the adapter's rules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mlinfra.problems import Problem, path_join
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.monitoring import duration_seconds

# Prometheus cuts its TSDB into 2h blocks; a shorter retention keeps nothing useful.
MIN_RETENTION_SECONDS = 2 * 3600


def check(env: EnvironmentSpec) -> Iterator[Problem]:
    """Problems of the monitoring section: a retention too short to keep samples, or shorter than the
    window an alert has to look back over."""
    spec = env.monitoring
    if not spec.enabled:
        return
    retention = duration_seconds(spec.retention)
    if retention < MIN_RETENTION_SECONDS:
        yield Problem(
            path_join("monitoring", "retention"), spec.retention,
            "must be at least 2h (Prometheus stores samples in 2h blocks)",
        )
    windows: list[tuple[str, str]] = [("gpu_idle_for", spec.alerts.gpu_idle_for)]
    if any(c.scheduler == "kueue" for c in env.clusters):
        windows.append(("workloads_pending_for", spec.alerts.workloads_pending_for))
    for field, value in windows:
        if duration_seconds(value) > retention:
            yield Problem(
                path_join("monitoring", "alerts", field), value,
                f"must not be longer than monitoring.retention ({spec.retention}): the alert would look back "
                "past the samples Prometheus keeps",
            )


def hpa_metric_problems(metric: str, rules: Iterable[dict[str, Any]], path: str = "metric") -> list[Problem]:
    """A problem when `metric` is not one the prometheus-adapter `rules` serve on the custom metrics API."""
    from mlinfra.k8s.prometheus_adapter import exposed_metrics

    served = sorted(exposed_metrics(rules))
    if metric in served:
        return []
    return [
        Problem(
            path, metric,
            f"is not served by the prometheus-adapter rules; use one of: {', '.join(served) or 'none'}",
        )
    ]
