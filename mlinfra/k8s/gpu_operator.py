"""The NVIDIA GPU operator add-on: privileged namespace, config ConfigMaps and the pinned Helm release."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from mlinfra.catalog import versions
from mlinfra.k8s.gpu_operator_config import (
    NAMESPACE,
    RELEASE,
    config_maps,
    critical_pods_quota,
    helm_values,
    namespace_manifest,
)
from mlinfra.k8s.helm import release_source_args

if TYPE_CHECKING:
    from mlinfra.context import ClusterContext


@dataclass
class GpuOperatorArgs:
    """Inputs of `GpuOperator`: the chart values and the ConfigMaps they reference, usually from the spec.

    `after` lists resources the release must wait for (the kube-prometheus-stack release, whose CRDs the
    dcgm-exporter ServiceMonitor needs). `chart` is the escape hatch for another chart version.
    `critical_pods_quota`: the ResourceQuota (manifest) that admits the operator's critical-priority pods,
    created before the release; GKE needs it (`gpu_operator_config.critical_pods_quota`). Default: none.
    """

    values: pulumi.Input[dict[str, Any]]
    config_maps: list[dict[str, Any]] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=namespace_manifest)
    chart: versions.ChartPin = versions.GPU_OPERATOR
    after: list[pulumi.Resource] = field(default_factory=list)
    critical_pods_quota: dict[str, Any] | None = None


class GpuOperator(pulumi.ComponentResource):
    """The GPU operator on one cluster: the `gpu-operator` namespace (Pod Security `privileged`), the MIG,
    device-plugin and DCGM ConfigMaps, and the Helm release that reads them."""

    namespace: pulumi.Output[str]
    release_name: pulumi.Output[str | None]

    def __init__(self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:gpu_operator:GpuOperator", name, None, opts)
        import pulumi_kubernetes as k8s
        from pulumi_kubernetes.helm.v3 import Release

        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=args.namespace["metadata"], opts=pulumi.ResourceOptions(parent=self)
        )
        maps: list[pulumi.Resource] = [
            k8s.core.v1.ConfigMap(
                f"{name}-{cm['metadata']['name']}",
                metadata=cm["metadata"],
                data=cm["data"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
            )
            for cm in args.config_maps
        ]
        if args.critical_pods_quota is not None:
            quota = args.critical_pods_quota
            maps.append(
                k8s.core.v1.ResourceQuota(
                    f"{name}-critical-pods",
                    metadata=quota["metadata"],
                    spec=quota["spec"],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
                )
            )
        pin = args.chart
        self.release = Release(
            f"{name}-release",
            name=RELEASE,
            **release_source_args(pin),
            namespace=args.namespace["metadata"]["name"],
            values=args.values,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, *maps, *args.after]),
        )
        self.namespace = pulumi.Output.from_input(args.namespace["metadata"]["name"])
        self.release_name = self.release.name
        self.register_outputs({"namespace": self.namespace, "release_name": self.release_name})


def gpu_operator_args(ctx: ClusterContext) -> GpuOperatorArgs:
    """The `GpuOperator` inputs a cluster's spec and pools ask for."""
    monitoring = ctx.addons.get("monitoring")
    spec = ctx.cluster.gpu_operator
    return GpuOperatorArgs(
        values=helm_values(ctx.cluster, ctx.pools, ctx.mig_strategy, monitoring is not None),
        config_maps=config_maps(ctx.cluster, ctx.pools, ctx.mig_strategy, spec.dcgm_exporter),
        # Only the release that installs the ServiceMonitor CRD: the rest of the monitoring add-on (adapter,
        # alerts, dashboards) is not needed by the operator and would only lengthen `pulumi up`.
        after=[getattr(monitoring, "stack", monitoring)] if monitoring is not None else [],
        critical_pods_quota=critical_pods_quota(ctx.cluster, ctx.pools),
    )


def addon(ctx: ClusterContext) -> pulumi.ComponentResource | None:
    """Create the GPU operator on the cluster, or None when `gpu_operator.enabled` is off."""
    if not ctx.cluster.gpu_operator.enabled:
        return None
    return GpuOperator(f"{ctx.name}-gpu-operator", gpu_operator_args(ctx), ctx.child_opts())


__all__ = ["NAMESPACE", "GpuOperator", "GpuOperatorArgs", "addon", "gpu_operator_args"]
