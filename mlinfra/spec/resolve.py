"""What a checked pool spec means on a node: its catalog facts, labels, taints and extended resources.

These names are the contract between the layers (node pools, GPU operator, Kueue flavors, caches, alerts),
and they come out the same on both clouds so that queues and workloads do not care where a pool lives.
Call `resolve_pool` only on a spec that passed the checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from mlinfra import catalog
from mlinfra.catalog import GpuModel
from mlinfra.catalog import gke as gke_facts
from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.pools import PoolSpec

LABEL_POOL = "mlinfra.io/pool"
LABEL_GPU_MODEL = "mlinfra.io/gpu-model"
LABEL_CAPACITY_TYPE = "mlinfra.io/capacity-type"
LABEL_MIG_CONFIG = "nvidia.com/mig.config"
LABEL_DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_RESOURCE = "nvidia.com/gpu"
SHARED_GPU_RESOURCE = "nvidia.com/gpu.shared"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
# The taint of a pool whose nodes advertise no whole `nvidia.com/gpu`: renamed time-slicing or MPS
# (`nvidia.com/gpu.shared`) and MIG under the mixed strategy (`nvidia.com/mig-<profile>`). Karpenter and
# cluster-autoscaler still see the instance type's GPUs as `nvidia.com/gpu` (a NodeOverlay adds resources, it
# removes none), so without it a pod asking for plain `nvidia.com/gpu` would make them launch a node that can
# never run it. Its value names the family the nodes do advertise (`gpu_resource_taint`).
GPU_RESOURCE_TAINT_KEY = "mlinfra.io/gpu-resource"

# Bottlerocket's NVIDIA variants run their own device plugin (bottlerocket-os/bottlerocket#1916; its EKS
# quickstart asks to keep other device-plugin DaemonSets off those nodes). The GPU operator skips an operand on
# a node labelled `nvidia.com/gpu.deploy.<operand>=false` and never overwrites a label already set
# (gpu-operator v26.7.0 controllers/state_manager.go, `addGPUStateLabels`, `migManagerLabelKey`).
BOTTLEROCKET_LABELS = {
    "nvidia.com/gpu.deploy.device-plugin": "false",
    "nvidia.com/gpu.deploy.mig-manager": "false",
}

MigStrategy = Literal["none", "single", "mixed"]


def gke_native(cluster: ClusterSpec) -> bool:
    """Whether GKE runs the GPU stack of this cluster's nodes: a GKE cluster whose driver the cloud installs.

    GKE then installs the driver and runs its own device plugin, partitions MIG GPUs with the node pool's
    `gpu_partition_size` and shares GPUs with its `gpu_sharing_config`; the GPU operator must not run a second
    device plugin or the MIG manager there. With `gpu_operator.driver: operator` a GKE cluster is managed like
    an EKS one: the operator's device plugin and MIG manager, selected by the `nvidia.com/*` node labels.
    """
    return cluster.cloud == "gcp" and cluster.gpu_operator.driver == "cloud"


def mig_layout_name(gpu: GpuModel, pool: PoolSpec) -> str | None:
    """The mig-parted layout name a pool's nodes select with `nvidia.com/mig.config`.

    A layout that fills each GPU with one profile is the well-known `all-<profile>`; any other layout
    is named after the pool.
    """
    if pool.mig is None:
        return None
    if len(pool.mig.profiles) == 1:
        (profile, count), = pool.mig.profiles.items()
        known = gpu.mig_profiles.get(profile)
        if known is not None and count == known.max_count:
            return f"all-{known.config_name}"
    return f"mlinfra-{pool.name}"


def device_plugin_config_name(pool: PoolSpec) -> str | None:
    """The device-plugin config a pool's nodes select with `nvidia.com/device-plugin.config`.

    The name carries every setting of the config's `sharing` block (k8s-device-plugin v0.20.0 config
    format: `replicas`, `renameByDefault`, and for time-slicing `failRequestsGreaterThanOne`), so two pools
    that differ in any of them never share one config and silently get the other's behaviour.
    """
    sharing = pool.time_slicing or pool.mps
    if sharing is None:
        return None
    kind = "time-slicing" if pool.time_slicing else "mps"
    suffix = "-renamed" if sharing.rename_by_default else ""
    if pool.time_slicing is not None and not pool.time_slicing.fail_requests_greater_than_one:
        suffix += "-multi"
    return f"{kind}-{sharing.replicas}{suffix}"


def gpu_resource_taint(resources: dict[str, int]) -> dict[str, str] | None:
    """The `mlinfra.io/gpu-resource` NoSchedule taint for nodes advertising `resources`, or None.

    `resources`: the extended resources of one node (`ResolvedPool.resources_per_node`). None when they include
    whole GPUs (`nvidia.com/gpu`: plain, time-sliced or MPS without renaming, MIG single strategy, every
    GKE-native pool). Otherwise the value names what the nodes advertise instead:

    - `gpu.shared`: `nvidia.com/gpu.shared` (renamed time-slicing or MPS; k8s-device-plugin v0.20.0
      api/config/v1 `DefaultSharedResourceNameSuffix`);
    - `mig`: `nvidia.com/mig-<profile>` (MIG under the mixed strategy; internal/rm/rm.go
      `AddDefaultResourcesToConfig`);
    - `mig.shared`: `nvidia.com/mig-<profile>.shared` (renamed time-slicing of those MIG devices).
    """
    if not resources or GPU_RESOURCE in resources:
        return None
    family = "mig" if any(r.startswith(MIG_RESOURCE_PREFIX) for r in resources) else "gpu"
    shared = all(r.endswith(".shared") for r in resources)
    return {"key": GPU_RESOURCE_TAINT_KEY, "value": f"{family}.shared" if shared else family,
            "effect": "NoSchedule"}


def cluster_mig_strategy(cluster: ClusterSpec) -> MigStrategy:
    """`none` without MIG pools; `single` when every MIG pool uses one profile per GPU; `mixed` otherwise.

    GKE-native clusters (`gke_native`) partition GPUs with one partition size per pool and advertise every
    partition as `nvidia.com/gpu`: always the single strategy. A GKE cluster whose operator owns the driver
    follows its pools like an EKS cluster.
    """
    mig_pools = [p for p in cluster.pools if p.mig is not None]
    if not mig_pools:
        return "none"
    if gke_native(cluster) or all(len(p.mig.profiles) == 1 for p in mig_pools if p.mig):
        return "single"
    return "mixed"


@dataclass(frozen=True)
class ResolvedPool:
    """A pool with its catalog facts filled in and its Kubernetes-side names decided."""

    cluster: str
    cloud: Literal["aws", "gcp"]
    spec: PoolSpec
    gpu: GpuModel
    gpus_per_node: int
    instance_types: tuple[str, ...] = ()
    machine_type: str | None = None
    accelerator_type: str | None = None
    vcpu_per_node: int = 0
    memory_mib_per_node: int = 0
    mig_strategy: MigStrategy = "none"
    # GKE installs the driver, runs the device plugin, partitions and shares the GPUs (see `gke_native`).
    gke_native: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict[str, str], ...] = ()

    @property
    def name(self) -> str:
        """The pool's name (unique in the environment)."""
        return self.spec.name

    @property
    def capacity_type(self) -> str:
        """`spot` or `on-demand`."""
        return "spot" if self.spec.spot else "on-demand"

    @property
    def mig_layout(self) -> str | None:
        """The MIG layout name, when the pool uses MIG.

        The operator's MIG manager applies it through `nvidia.com/mig.config`; on GKE-native pools it only names
        the layout GKE's partition size gives (always `all-<profile>`), and no node label selects it.
        """
        return mig_layout_name(self.gpu, self.spec)

    @property
    def device_plugin_config(self) -> str | None:
        """The operator's device-plugin sharing config name, when the pool shares GPUs through it."""
        return None if self.gke_native else device_plugin_config_name(self.spec)

    def resources_per_node(self) -> dict[str, int]:
        """Extended resources one node advertises, as the device plugin names them.

        On GKE-native pools GKE's device plugin advertises `nvidia.com/gpu` only: one per partition with MIG,
        `max_shared_clients_per_gpu` per GPU with time-sharing or MPS, never renamed (the checks refuse
        `rename_by_default` there). Elsewhere the operator's device plugin names them after the cluster's MIG
        strategy and the pool's sharing config.
        """
        spec, gpus = self.spec, self.gpus_per_node
        if self.gke_native:
            per_gpu = sum(spec.mig.profiles.values()) if spec.mig is not None else 1
            sharing = spec.time_slicing or spec.mps
            return {GPU_RESOURCE: gpus * per_gpu * (sharing.replicas if sharing is not None else 1)}
        if spec.mig is None:
            devices = {GPU_RESOURCE: gpus}
        elif self.mig_strategy == "mixed":
            devices = {self.gpu.mig_profiles[p].resource_name: gpus * n for p, n in sorted(spec.mig.profiles.items())}
        else:
            devices = {GPU_RESOURCE: gpus * sum(spec.mig.profiles.values())}
        sharing = spec.time_slicing or spec.mps
        if sharing is None:
            return devices
        # The device plugin advertises each shared device `replicas` times; renaming appends `.shared`
        # (`nvidia.com/gpu.shared`, `nvidia.com/mig-1g.10gb.shared` when time-slicing MIG devices).
        suffix = ".shared" if sharing.rename_by_default else ""
        return {f"{name}{suffix}": count * sharing.replicas for name, count in devices.items()}

    def max_resources(self) -> dict[str, int]:
        """Extended resources of the pool at `max_nodes`."""
        return {k: v * self.spec.max_nodes for k, v in self.resources_per_node().items()}

    @property
    def max_gpus(self) -> int:
        """Physical GPUs at `max_nodes`."""
        return self.gpus_per_node * self.spec.max_nodes

    @property
    def toleration(self) -> list[dict[str, str]]:
        """Tolerations a pod needs to land on the pool (one per taint)."""
        return [{"key": t["key"], "operator": "Equal", "value": t["value"], "effect": t["effect"]} for t in self.taints]


def _aws_types(pool: PoolSpec) -> list[catalog.AwsInstanceType]:
    if pool.instance_types:
        return [catalog.AWS_INSTANCE_TYPES[t] for t in pool.instance_types]
    gpu = catalog.find_gpu(pool.gpu or "")
    assert gpu is not None, "resolve_pool needs a checked spec"
    count = int(pool.gpus_per_node) if pool.gpus_per_node is not None else None
    rows = catalog.aws_instance_types_for(gpu.name, count)
    if count is None:
        rows = [r for r in rows if r.gpu_count == rows[0].gpu_count]
    # Spot capacity is far more available across several sizes; on-demand takes the smallest.
    return rows if pool.spot else rows[:1]


def resolve_pool(cluster: ClusterSpec, pool: PoolSpec) -> ResolvedPool:
    """Fill in a checked pool from the catalog and decide its labels, taints and resources."""
    strategy = cluster_mig_strategy(cluster)
    if cluster.cloud == "aws":
        types = _aws_types(pool)
        first = types[0]
        assert first.gpu_model is not None
        gpu = catalog.GPU_MODELS[first.gpu_model]
        base = dict(
            gpus_per_node=first.gpu_count,
            instance_types=tuple(t.name for t in types),
            vcpu_per_node=min(t.vcpu for t in types),
            memory_mib_per_node=min(t.memory_mib for t in types),
        )
    else:
        found = catalog.find_gpu(pool.gpu or "")
        count = int(pool.gpus_per_node) if pool.gpus_per_node is not None else None
        if pool.machine_type:
            # N1 machine types carry the pool's GPU, as many as gpus_per_node says (one by default).
            by_type = catalog.find_gcp_machine(pool.machine_type, found.name if found else None, count)
            assert by_type is not None, "resolve_pool needs a checked spec"
            machine = by_type
        else:
            assert found is not None, "resolve_pool needs a checked spec"
            rows = catalog.gcp_machine_types_for(found.name, count)
            # The smallest type Compute Engine offers for the pool's provisioning model (a3-highgpu-1g is
            # Spot or Flex-start only); without one, the smallest, which the GKE checks then refuse.
            model = "spot" if pool.spot else "on-demand"
            offered = [m for m in rows if model in gke_facts.provisioning_models(m.name)]
            machine = (offered or rows)[0]
        gpu = catalog.GPU_MODELS[catalog.GCP_ACCELERATOR_TYPES[machine.accelerator_type].gpu_model]
        base = dict(
            gpus_per_node=machine.gpu_count,
            machine_type=machine.name,
            accelerator_type=machine.accelerator_type,
            vcpu_per_node=machine.vcpu,
            memory_mib_per_node=machine.memory_gb * 1024,
        )
    labels = {
        LABEL_POOL: pool.name,
        LABEL_GPU_MODEL: gpu.name,
        LABEL_CAPACITY_TYPE: "spot" if pool.spot else "on-demand",
    }
    native = gke_native(cluster)
    if not native:
        # The operator's MIG manager and device plugin read these; on GKE-native pools the node pool's
        # gpu_partition_size and gpu_sharing_config do the same, and GKE labels the nodes itself
        # (cloud.google.com/gke-gpu-partition-size, cloud.google.com/gke-gpu-sharing-strategy).
        layout = mig_layout_name(gpu, pool)
        if layout:
            labels[LABEL_MIG_CONFIG] = layout
        dp_config = device_plugin_config_name(pool)
        if dp_config:
            labels[LABEL_DEVICE_PLUGIN_CONFIG] = dp_config
    labels.update(pool.labels)
    if cluster.cloud == "aws" and pool.ami_family == "bottlerocket":
        # After the user's labels: two device plugins on one node would both advertise its GPUs.
        labels.update(BOTTLEROCKET_LABELS)
    own = tuple({"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints)
    resolved = ResolvedPool(
        cluster=cluster.name,
        cloud=cluster.cloud,
        spec=pool,
        gpu=gpu,
        mig_strategy=strategy,
        gke_native=native,
        labels=labels,
        taints=(dict(GPU_TAINT), *own),
        **base,  # type: ignore[arg-type]
    )
    # What the nodes advertise follows from the facts above; the taint that keeps plain-GPU pods off them
    # goes right after the GPU taint, so every layer that reads `taints` (node pools, autoscaler tags, Kueue
    # flavors, operator daemonsets, cache placement) carries it.
    resource_taint = gpu_resource_taint(resolved.resources_per_node())
    if resource_taint is None:
        return resolved
    return replace(resolved, taints=(dict(GPU_TAINT), resource_taint, *own))


def resolve_cluster_pools(cluster: ClusterSpec) -> list[ResolvedPool]:
    """Every pool of a checked cluster, resolved."""
    return [resolve_pool(cluster, p) for p in cluster.pools]
