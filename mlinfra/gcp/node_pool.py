"""A GKE node pool of GPU nodes: accelerators, MIG partitions, GPU sharing, spot, scale from zero."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from mlinfra.spec.resolve import ResolvedPool

_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
# GKE skips its own NVIDIA device plugin on nodes with this label (NVIDIA GPU Operator with Google GKE).
NO_GKE_DEVICE_PLUGIN = "gke-no-default-nvidia-gpu-device-plugin"
# The operator's driver container needs Ubuntu: Container-Optimized OS takes only GKE's or Google's installer.
OPERATOR_DRIVER_IMAGE = "UBUNTU_CONTAINERD"


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


def autoscaling(pool: ResolvedPool) -> dict[str, Any]:
    """Autoscaler bounds for the whole pool, across all of its zones.

    GKE's `min/max_node_count` are per zone and would multiply the pool on a regional cluster; the `total_*`
    bounds mean what `min_nodes`/`max_nodes` say, which is the capacity the summary and Kueue quotas count.
    Spot pools take capacity in any zone that has it (`ANY`); the others stay spread over zones (`BALANCED`).
    """
    spec = pool.spec
    return {
        "total_min_node_count": spec.min_nodes,
        "total_max_node_count": spec.max_nodes,
        "location_policy": "ANY" if spec.spot else "BALANCED",
    }


def accelerator(pool: ResolvedPool, driver: str) -> dict[str, Any]:
    """The node pool's `guest_accelerators` entry.

    With `driver: cloud` GKE owns the GPU stack: its driver, its device plugin, MIG through
    `gpu_partition_size` and sharing through `gpu_sharing_config`. With `driver: operator` GKE installs
    nothing and partitions nothing: the operator's MIG manager and device plugin do, as on EKS.
    """
    spec = pool.spec
    out: dict[str, Any] = {
        "type": pool.accelerator_type,
        "count": pool.gpus_per_node,
        "gpu_driver_installation_config": {"gpu_driver_version": driver_version(driver)},
    }
    if driver == "operator":
        return out
    if spec.mig is not None:
        (profile,) = spec.mig.profiles
        out["gpu_partition_size"] = profile
    sharing = spec.time_slicing or spec.mps
    if sharing is not None:
        out["gpu_sharing_config"] = {
            "gpu_sharing_strategy": "TIME_SHARING" if spec.time_slicing else "MPS",
            "max_shared_clients_per_gpu": sharing.replicas,
        }
    return out


def node_labels(pool: ResolvedPool, driver: str) -> dict[str, str]:
    """The pool's contract labels, plus the label that keeps GKE's device plugin off when the operator's runs."""
    labels = dict(pool.labels)
    if driver == "operator":
        labels[NO_GKE_DEVICE_PLUGIN] = "true"
    return dict(sorted(labels.items()))


def node_pool_args(
    pool: ResolvedPool, cluster: pulumi.Input[str], location: str, project: str | None, driver: str = "cloud"
) -> GkeGpuNodePoolArgs:
    """The node pool a resolved pool compiles to on GKE."""
    spec = pool.spec
    node_config: dict[str, Any] = {
        "machine_type": pool.machine_type,
        "spot": spec.spot,
        "guest_accelerators": [accelerator(pool, driver)],
        "labels": node_labels(pool, driver),
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
    if driver == "operator":
        node_config["image_type"] = OPERATOR_DRIVER_IMAGE
    node_pool: dict[str, Any] = {
        "initial_node_count": initial_node_count(pool),
        "autoscaling": autoscaling(pool),
        "management": {"auto_repair": True, "auto_upgrade": True},
        "node_config": node_config,
    }
    if spec.zones:
        node_pool["node_locations"] = list(spec.zones)
    return GkeGpuNodePoolArgs(cluster=cluster, location=location, project=project, node_pool=node_pool)


def initial_node_count(pool: ResolvedPool) -> int:
    """GKE's `initial_node_count`, which is per zone: enough in each of the pool's zones to reach `min_nodes`.

    With `zones` named that is `ceil(min_nodes / len(zones))`. Without them the pool takes the cluster's zones,
    which are not known before the cluster exists, and `min_nodes` per zone is the only safe choice: the pool
    starts with at least `min_nodes` and the autoscaler, which holds the total bounds, removes the rest.
    """
    zones = len(pool.spec.zones)
    return -(-pool.spec.min_nodes // zones) if zones else pool.spec.min_nodes


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
