"""A GKE node pool of GPU nodes: accelerators, MIG partitions, GPU sharing, spot, scale from zero."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from mlinfra.spec.resolve import ResolvedPool

_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


@dataclass
class GkeGpuNodePoolArgs:
    """Inputs of `GkeGpuNodePool`: the `container.NodePool` arguments, decided up front."""

    cluster: pulumi.Input[str]
    location: str
    project: str | None
    node_pool: dict[str, Any]
    service_account: pulumi.Input[str] | None = None


def driver_version(driver: str) -> str:
    """GKE's `gpu_driver_version`: GKE installs its default driver unless the GPU operator owns the driver."""
    return "INSTALLATION_DISABLED" if driver == "operator" else "DEFAULT"


def secure_boot(pool: ResolvedPool, driver: str) -> bool:
    """Secure boot stays on unless the GPU operator compiles the driver (its unsigned modules would not load)."""
    if pool.spec.secure_boot is not None:
        return pool.spec.secure_boot
    return driver != "operator"


def node_pool_args(
    pool: ResolvedPool, cluster: pulumi.Input[str], location: str, project: str | None, driver: str = "cloud"
) -> GkeGpuNodePoolArgs:
    """The node pool a resolved pool compiles to on GKE."""
    spec = pool.spec
    accelerator: dict[str, Any] = {
        "type": pool.accelerator_type,
        "count": pool.gpus_per_node,
        "gpu_driver_installation_config": {"gpu_driver_version": driver_version(driver)},
    }
    if spec.mig is not None:
        (profile,) = spec.mig.profiles
        accelerator["gpu_partition_size"] = profile
    sharing = spec.time_slicing or spec.mps
    if sharing is not None:
        accelerator["gpu_sharing_config"] = {
            "gpu_sharing_strategy": "TIME_SHARING" if spec.time_slicing else "MPS",
            "max_shared_clients_per_gpu": sharing.replicas,
        }
    node_config = {
        "machine_type": pool.machine_type,
        "spot": spec.spot,
        "guest_accelerators": [accelerator],
        "labels": dict(sorted(pool.labels.items())),
        "taints": [{"key": t["key"], "value": t["value"], "effect": _EFFECTS[t["effect"]]} for t in pool.taints],
        "disk_size_gb": spec.disk_size_gib,
        "disk_type": "pd-balanced",
        "shielded_instance_config": {
            "enable_secure_boot": secure_boot(pool, driver),
            "enable_integrity_monitoring": True,
        },
        # Pods see only their own workload identity, never the node's service account.
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        # Access is bounded by the node service account's IAM roles; the scope only has to allow them.
        "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "metadata": {"disable-legacy-endpoints": "true"},
        "resource_labels": {"mlinfra-pool": pool.name},
    }
    return GkeGpuNodePoolArgs(
        cluster=cluster,
        location=location,
        project=project,
        node_pool={
            "initial_node_count": spec.min_nodes,
            # Per-zone bounds (GKE's min/max_node_count); see docs/node-pools.md for regional clusters.
            "autoscaling": {"min_node_count": spec.min_nodes, "max_node_count": spec.max_nodes},
            "management": {"auto_repair": True, "auto_upgrade": True},
            "node_config": node_config,
        },
    )


class GkeGpuNodePool(pulumi.ComponentResource):
    """One GKE node pool of GPU nodes."""

    def __init__(self, name: str, args: GkeGpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:gcp:GkeGpuNodePool", name, None, opts)
        from pulumi_gcp import container

        node_pool = dict(args.node_pool)
        if args.service_account is not None:
            node_pool["node_config"] = {**node_pool["node_config"], "service_account": args.service_account}
        self.node_pool = container.NodePool(
            f"{name}-pool",
            cluster=args.cluster,
            location=args.location,
            project=args.project,
            # The autoscaler owns the node count after creation.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]),
            **node_pool,
        )
        self.register_outputs({"name": self.node_pool.name})
