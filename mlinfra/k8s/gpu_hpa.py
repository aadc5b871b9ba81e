"""GpuUtilizationHpa: an HPA that scales a team's Deployment on the GPU utilisation of its pods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlinfra.checks.monitoring import hpa_metric_problems
from mlinfra.k8s.prometheus_adapter import GPU_UTILIZATION_METRIC, gpu_adapter_rules


def hpa_manifest(
    name: Any, namespace: Any, deployment: Any, min_replicas: Any, max_replicas: Any, target: Any, metric: str
) -> dict[str, Any]:
    """An `autoscaling/v2` HPA keeping the pods' average `metric` at `target` (a Pods metric)."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": metric},
                        "target": {"type": "AverageValue", "averageValue": target},
                    },
                }
            ],
            # GPU pods start slowly (image pull, model load); scaling down too soon throws that away.
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 600}},
        },
    }


@dataclass
class GpuUtilizationHpaArgs:
    """Inputs of GpuUtilizationHpa.

    `deployment`: the Deployment to scale; `namespace`: its namespace. `min_replicas` (default 1) and
    `max_replicas` bound it. `target_utilization_percent`: average GPU utilisation per pod to keep (default 70).
    `metric`: the custom metric (default `gpu_utilization`, which the monitoring add-on's adapter serves).
    `adapter_rules`: the prometheus-adapter rules the metric must come from (default: mlinfra's).
    """

    deployment: pulumi.Input[str]
    namespace: pulumi.Input[str]
    max_replicas: pulumi.Input[int]
    min_replicas: pulumi.Input[int] = 1
    target_utilization_percent: pulumi.Input[int] = 70
    metric: str = GPU_UTILIZATION_METRIC
    adapter_rules: list[dict[str, Any]] | None = field(default=None)

    def __post_init__(self) -> None:
        # Checked when the arguments are built, so a program that builds them before registering its workloads
        # is refused before anything is registered (see the team-stack example).
        raise_for_metric(self.metric, self.adapter_rules)


def raise_for_metric(metric: str, adapter_rules: list[dict[str, Any]] | None = None) -> None:
    """Raise `InputError` when the prometheus-adapter rules (default: mlinfra's) do not serve `metric`."""
    from mlinfra.problems import InputError

    rules = adapter_rules if adapter_rules is not None else gpu_adapter_rules()
    problems = hpa_metric_problems(metric, rules, path="GpuUtilizationHpaArgs.metric")
    if problems:
        raise InputError(problems, "GpuUtilizationHpaArgs")


class GpuUtilizationHpa(pulumi.ComponentResource):
    """A HorizontalPodAutoscaler on a Deployment, scaled by its pods' GPU utilisation.

    Raises `mlinfra.problems.InputError` (path, value, the metrics served) when `metric` is not served by the
    adapter rules: already when `GpuUtilizationHpaArgs` is built, and again here in case the arguments were
    changed after. Output: `hpa_name`.
    """

    def __init__(self, name: str, args: GpuUtilizationHpaArgs, opts: pulumi.ResourceOptions | None = None):
        raise_for_metric(args.metric, args.adapter_rules)
        super().__init__("mlinfra:gpu_hpa:GpuUtilizationHpa", name, None, opts)
        from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscaler

        doc = hpa_manifest(
            name, args.namespace, args.deployment, args.min_replicas, args.max_replicas,
            pulumi.Output.from_input(args.target_utilization_percent).apply(str), args.metric,
        )
        HorizontalPodAutoscaler(
            f"{name}-hpa", metadata=doc["metadata"], spec=doc["spec"], opts=pulumi.ResourceOptions(parent=self)
        )
        self.hpa_name = pulumi.Output.from_input(name)
        self.register_outputs({"hpa_name": self.hpa_name})
