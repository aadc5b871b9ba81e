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


class GpuUtilizationHpa(pulumi.ComponentResource):
    """A HorizontalPodAutoscaler on a Deployment, scaled by its pods' GPU utilisation.

    Raises `pulumi.InputPropertyError` before registering anything when `metric` is not served by the
    adapter rules. Output: `hpa_name`.
    """

    def __init__(self, name: str, args: GpuUtilizationHpaArgs, opts: pulumi.ResourceOptions | None = None):
        rules = args.adapter_rules if args.adapter_rules is not None else gpu_adapter_rules()
        problems = hpa_metric_problems(args.metric, rules)
        if problems:
            raise pulumi.InputPropertyError(problems[0].path, str(problems[0]))
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
