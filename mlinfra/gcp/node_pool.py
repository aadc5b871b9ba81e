"""A GKE node pool of GPU nodes: accelerators, MIG partitions, GPU sharing, spot, scale from zero."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from mlinfra.catalog import gke as gke_facts
from mlinfra.spec.resolve import ResolvedPool

if TYPE_CHECKING:
    from pulumi_gcp.container import (
        NodePoolAutoscalingArgsDict,
        NodePoolManagementArgsDict,
        NodePoolNodeConfigArgsDict,
        NodePoolNodeConfigGuestAcceleratorArgsDict,
        NodePoolNodeConfigTaintArgsDict,
    )

_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
# GKE skips its own NVIDIA device plugin on nodes with this label (NVIDIA GPU Operator with Google GKE).
NO_GKE_DEVICE_PLUGIN = "gke-no-default-nvidia-gpu-device-plugin"
# The operator's driver container needs Ubuntu: Container-Optimized OS takes only GKE's or Google's installer.
OPERATOR_DRIVER_IMAGE = "UBUNTU_CONTAINERD"


@dataclass
class GkeGpuNodePoolArgs:
    """Inputs of `GkeGpuNodePool`: the `container.NodePool` arguments, decided up front and typed by the SDK.

    `node_locations` empty lets the pool take the cluster's zones.
    """

    cluster: pulumi.Input[str]
    location: str
    project: str | None
    node_config: NodePoolNodeConfigArgsDict
    autoscaling: NodePoolAutoscalingArgsDict
    management: NodePoolManagementArgsDict
    initial_node_count: int
    node_locations: tuple[str, ...] = ()
    service_account: pulumi.Input[str] | None = None


def driver_version(driver: str) -> str:
    """GKE's `gpu_driver_version`: GKE installs its default driver unless the GPU operator owns the driver."""
    return "INSTALLATION_DISABLED" if driver == "operator" else "DEFAULT"


def secure_boot(pool: ResolvedPool, driver: str) -> bool:
    """Secure boot stays on unless the GPU operator compiles the driver (its unsigned modules would not load)."""
    if pool.spec.secure_boot is not None:
        return pool.spec.secure_boot
    return driver != "operator"


def autoscaling(pool: ResolvedPool) -> NodePoolAutoscalingArgsDict:
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


def accelerator(pool: ResolvedPool, driver: str) -> NodePoolNodeConfigGuestAcceleratorArgsDict:
    """The node pool's `guest_accelerators` entry.

    With `driver: cloud` GKE owns the GPU stack: its driver, its device plugin, MIG through
    `gpu_partition_size` and sharing through `gpu_sharing_config`. With `driver: operator` GKE installs
    nothing and partitions nothing: the operator's MIG manager and device plugin do, as on EKS.
    """
    spec = pool.spec
    assert pool.accelerator_type is not None, "a GKE pool is resolved with its accelerator type"
    out: NodePoolNodeConfigGuestAcceleratorArgsDict = {
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


def taints(pool: ResolvedPool) -> list[NodePoolNodeConfigTaintArgsDict]:
    """The pool's taints in GKE's effect names."""
    return [{"key": t["key"], "value": t["value"], "effect": _EFFECTS[t["effect"]]} for t in pool.taints]


def disk_type(pool: ResolvedPool) -> str:
    """The boot disk: the pool's `disk_type`, or the catalog's default for its machine series.

    A3 Ultra, A4, A4X and G4 machines boot from Hyperdisk only; the others get pd-balanced.
    """
    assert pool.machine_type is not None
    return pool.spec.disk_type or gke_facts.default_boot_disk(pool.machine_type)


def node_locations(pool: ResolvedPool, region: str) -> tuple[str, ...]:
    """The pool's zones: the ones it names, else the zones of the region that offer its machine type.

    The cluster's own zones are the last resort, for machine series the catalog has no zones for; GKE would
    otherwise spread an H100 or B200 pool over zones that have none of them.
    """
    if pool.spec.zones:
        return tuple(pool.spec.zones)
    assert pool.machine_type is not None
    return gke_facts.machine_zones(pool.machine_type, region)


def node_config(pool: ResolvedPool, driver: str) -> NodePoolNodeConfigArgsDict:
    """The nodes of a GPU pool: machine, GPUs, labels and taints, boot disk, and the hardening every node gets."""
    spec = pool.spec
    assert pool.machine_type is not None
    config: NodePoolNodeConfigArgsDict = {
        "machine_type": pool.machine_type,
        "spot": spec.spot,
        "guest_accelerators": [accelerator(pool, driver)],
        "labels": node_labels(pool, driver),
        "taints": taints(pool),
        "disk_size_gb": spec.disk_size_gib,
        "disk_type": disk_type(pool),
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
        config["image_type"] = OPERATOR_DRIVER_IMAGE
    return config


def node_pool_args(
    pool: ResolvedPool, cluster: pulumi.Input[str], location: str, project: str | None, driver: str = "cloud"
) -> GkeGpuNodePoolArgs:
    """The node pool a resolved pool compiles to on GKE."""
    zones = node_locations(pool, location)
    return GkeGpuNodePoolArgs(
        cluster=cluster,
        location=location,
        project=project,
        node_config=node_config(pool, driver),
        autoscaling=autoscaling(pool),
        management={"auto_repair": True, "auto_upgrade": True},
        initial_node_count=initial_node_count(pool, len(zones)),
        node_locations=zones,
    )


def initial_node_count(pool: ResolvedPool, zones: int) -> int:
    """GKE's `initial_node_count`, which is per zone: enough in each of the pool's `zones` to reach `min_nodes`.

    With its zones known that is `ceil(min_nodes / zones)`. Without them (`zones` 0) the pool takes the
    cluster's zones, which are not known before the cluster exists, and `min_nodes` per zone is the only safe
    choice: the pool starts with at least `min_nodes` and the autoscaler, which holds the total bounds, removes
    the rest.
    """
    return -(-pool.spec.min_nodes // zones) if zones else pool.spec.min_nodes


class GkeGpuNodePool(pulumi.ComponentResource):
    """One GKE node pool of GPU nodes."""

    def __init__(self, name: str, args: GkeGpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:gcp:GkeGpuNodePool", name, None, opts)
        from pulumi_gcp import container

        node_config = args.node_config
        if args.service_account is not None:
            node_config = {**node_config, "service_account": args.service_account}
        self.node_pool = container.NodePool(
            f"{name}-pool",
            cluster=args.cluster,
            location=args.location,
            project=args.project,
            node_config=node_config,
            autoscaling=args.autoscaling,
            management=args.management,
            initial_node_count=args.initial_node_count,
            node_locations=list(args.node_locations) or None,
            # The autoscaler owns the node count after creation.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]),
        )
        self.register_outputs({"name": self.node_pool.name})
