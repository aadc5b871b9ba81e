"""The GPU catalog: GPU models, MIG profiles, AWS instance types, GCP machine and accelerator types.

Facts come from the NVIDIA MIG user guide, mig-parted, Karpenter's instance-type reference and the GKE
autoscaler tables (see the `_*_data` modules). Lookups are plain dictionaries built once at import time;
importing the catalog pulls in no cloud SDK.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlinfra.catalog import _aws_data, _gcp_data, _gke_data, _gpu_data


@dataclass(frozen=True)
class MigProfile:
    """One MIG GPU-instance profile of a GPU model, e.g. `1g.10gb` on an H100-80GB."""

    name: str
    compute_slices: int
    memory_gb: int
    max_count: int
    memory_slices: int = 0  # of the GPU's memory slices (8 or 4) one instance occupies; see mig_placement

    @property
    def media_extensions(self) -> bool:
        """Whether the profile carries the media engines (`+me` variants): only one fits per GPU."""
        return "+me" in self.name

    @property
    def config_name(self) -> str:
        """The name mig-parted and the node label use: `+` becomes `.` (`1g.10gb+me` -> `1g.10gb.me`)."""
        return self.name.replace("+", ".")

    @property
    def resource_name(self) -> str:
        """The extended resource the device plugin advertises for it under the mixed strategy."""
        return f"nvidia.com/mig-{self.config_name}"


@dataclass(frozen=True)
class GpuModel:
    """A GPU model as the catalog names it (`H100-80GB`), with its MIG profiles if it has MIG."""

    name: str
    memory_gb: int
    max_mig_instances: int = 0
    pci_device_ids: tuple[str, ...] = ()
    mig_profiles: dict[str, MigProfile] = field(default_factory=dict)

    @property
    def mig_capable(self) -> bool:
        """True when the GPU can be partitioned with MIG."""
        return bool(self.mig_profiles)

    @property
    def compute_slices(self) -> int:
        """Compute slices of one GPU (7 on A100/H100/H200/B200, 4 on A30 and RTX PRO 6000)."""
        return max((p.compute_slices for p in self.mig_profiles.values()), default=0)

    @property
    def memory_slices(self) -> int:
        """Memory slices of one GPU (8 on A100/H100/H200/B200, 4 on A30 and RTX PRO 6000; 0 without MIG)."""
        return _gpu_data.MIG_MEMORY_SLICES.get(self.compute_slices, 0)


@dataclass(frozen=True)
class AwsInstanceType:
    """An EC2 instance type with accelerators, and the values Karpenter labels its nodes with."""

    name: str
    gpu_model: str | None
    gpu_count: int
    gpu_memory_mib: int
    vcpu: int
    memory_mib: int
    arch: str
    karpenter_gpu_name: str
    gpu_manufacturer: str

    @property
    def family(self) -> str:
        """The instance family (`p5`, `g6e`, `p6-b200`)."""
        return self.name.split(".", 1)[0]

    @property
    def has_whole_nvidia_gpu(self) -> bool:
        """False for AMD/Habana accelerators and for fractional-GPU sizes (g6f, gr6f)."""
        return self.gpu_model is not None and self.gpu_count > 0


@dataclass(frozen=True)
class GcpAcceleratorType:
    """A Compute Engine accelerator type (`nvidia-h100-80gb`) and the MIG partitions GKE accepts for it."""

    name: str
    gpu_model: str
    memory_gb: int | None
    gke_partition_sizes: dict[str, int]


@dataclass(frozen=True)
class GcpMachineType:
    """A Compute Engine machine type with GPUs: attached by design (A2, A3, A4, G2, G4), or an N1 machine type
    with `gpu_count` GPUs of `accelerator_type` attached to it (one row per attachable count)."""

    name: str
    accelerator_type: str
    gpu_count: int
    vcpu: int
    memory_gb: int
    arch: str


def _build_gpus() -> dict[str, GpuModel]:
    gpus: dict[str, GpuModel] = {}
    for name, memory_gb, max_instances, pci_ids, profiles in _gpu_data.MIG_GPUS:
        # A profile's share of memory is its memory over the whole-GPU profile's (the largest), in slices.
        slices = _gpu_data.MIG_MEMORY_SLICES[max(p[1] for p in profiles)]
        whole = max(p[2] for p in profiles)
        gpus[name] = GpuModel(
            name=name,
            memory_gb=memory_gb,
            max_mig_instances=max_instances,
            pci_device_ids=pci_ids,
            mig_profiles={p[0]: MigProfile(*p, memory_slices=round(p[2] * slices / whole)) for p in profiles},
        )
    for name, memory_gb in _gpu_data.PLAIN_GPUS:
        gpus[name] = GpuModel(name=name, memory_gb=memory_gb)
    return gpus


# The cluster autoscaler reads these ASG tags to build a template node for a group with no nodes (its AWS
# README, "scaling a node group to 0"); an Auto Scaling group tag key is at most 128 characters.
AUTOSCALER_NODE_TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template"
ASG_TAG_KEY_MAX = 128

GPU_MODELS: dict[str, GpuModel] = _build_gpus()
AWS_INSTANCE_TYPES: dict[str, AwsInstanceType] = {r[0]: AwsInstanceType(*r) for r in _aws_data.AWS_ROWS}
GCP_ACCELERATOR_TYPES: dict[str, GcpAcceleratorType] = {
    name: GcpAcceleratorType(name, model, memory, dict(parts))
    for name, model, memory, parts in _gcp_data.ACCELERATOR_ROWS
}
GCP_MACHINE_TYPES: dict[str, GcpMachineType] = {r[0]: GcpMachineType(*r) for r in _gcp_data.MACHINE_ROWS}
# N1 machine types that GPUs attach to (vCPU, memory GB), and every attachment Compute Engine allows on them.
GCP_N1_MACHINE_TYPES: dict[str, tuple[int, int]] = {r[0]: (r[1], r[2]) for r in _gke_data.N1_MACHINE_ROWS}
GCP_N1_OFFERS: tuple[GcpMachineType, ...] = tuple(
    GcpMachineType(name, accelerator, count, vcpu, memory, "amd64")
    for accelerator, count, max_vcpu, max_memory in _gke_data.N1_GPU_LIMITS
    for name, vcpu, memory in _gke_data.N1_MACHINE_ROWS
    if vcpu <= max_vcpu and memory <= max_memory
)

_GPU_BY_LOWER = {name.lower(): name for name in GPU_MODELS}


def find_gpu(name: str) -> GpuModel | None:
    """The GPU model named `name` (case-insensitive), or None."""
    canonical = _GPU_BY_LOWER.get(name.lower())
    return GPU_MODELS[canonical] if canonical else None


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` names from `choices` that look most like `name`, for 'did you mean' messages."""
    pool = list(choices)
    lowered = {c.lower(): c for c in pool}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    if not matches:
        # A short alias such as "h100" still deserves suggestions: fall back to a substring match.
        matches = [c for c in lowered if name.lower() in c][:n]
    return [lowered[m] for m in matches]


def aws_instance_types_for(gpu_model: str, gpus_per_node: int | None = None) -> list[AwsInstanceType]:
    """EC2 instance types carrying `gpu_model`, optionally with exactly `gpus_per_node` GPUs, smallest first."""
    rows = [
        t
        for t in AWS_INSTANCE_TYPES.values()
        if t.gpu_model == gpu_model and t.gpu_count > 0 and (gpus_per_node is None or t.gpu_count == gpus_per_node)
    ]
    return sorted(rows, key=lambda t: (t.vcpu, t.memory_mib, t.name))


def gcp_machine_offers() -> list[GcpMachineType]:
    """Every GPU machine type of the catalog: the accelerator-optimized ones, then the N1 attachments."""
    return [*GCP_MACHINE_TYPES.values(), *GCP_N1_OFFERS]


def gcp_machine_types_for(gpu_model: str, gpus_per_node: int | None = None) -> list[GcpMachineType]:
    """GCP machine types whose GPUs are `gpu_model`, optionally with `gpus_per_node`, smallest first.

    N1 machine types appear once per GPU count they can take (`n1-standard-8` with 1, 2 or 4 T4s).
    """
    rows = [
        m
        for m in gcp_machine_offers()
        if GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model == gpu_model
        and (gpus_per_node is None or m.gpu_count == gpus_per_node)
    ]
    # Ties keep the catalog's order (a3-highgpu-8g before a3-edgegpu-8g); N1 attachments come by GPU count.
    return sorted(rows, key=lambda m: (m.gpu_count if m.name.startswith("n1-") else 0, m.vcpu, m.memory_gb))


def find_gcp_machine(machine_type: str, gpu_model: str | None = None,
                     gpus_per_node: int | None = None) -> GcpMachineType | None:
    """The catalog row of a machine type; an N1 type needs the GPU it carries, and takes 1 GPU by default."""
    if machine_type in GCP_MACHINE_TYPES:
        return GCP_MACHINE_TYPES[machine_type]
    if machine_type not in GCP_N1_MACHINE_TYPES or gpu_model is None:
        return None
    count = gpus_per_node or 1
    for m in GCP_N1_OFFERS:
        if (m.name == machine_type and m.gpu_count == count
                and GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model == gpu_model):
            return m
    return None


def karpenter_gpu_name(gpu_model: str) -> str | None:
    """The `karpenter.k8s.aws/instance-gpu-name` value of a catalog GPU model, if EC2 offers it."""
    for t in AWS_INSTANCE_TYPES.values():
        if t.gpu_model == gpu_model:
            return t.karpenter_gpu_name
    return None


__all__ = [
    "AWS_INSTANCE_TYPES",
    "GCP_ACCELERATOR_TYPES",
    "GCP_MACHINE_TYPES",
    "GCP_N1_MACHINE_TYPES",
    "GCP_N1_OFFERS",
    "GPU_MODELS",
    "AwsInstanceType",
    "GcpAcceleratorType",
    "GcpMachineType",
    "GpuModel",
    "MigProfile",
    "aws_instance_types_for",
    "closest",
    "find_gcp_machine",
    "find_gpu",
    "gcp_machine_offers",
    "gcp_machine_types_for",
    "karpenter_gpu_name",
]
