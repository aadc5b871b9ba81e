"""GPU node pools: one cloud-neutral description that compiles to EKS, Karpenter or GKE resources."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlinfra.spec.base import Name, SpecModel


class Taint(SpecModel):
    """A node taint; pods need a matching toleration to land on the pool."""

    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class MigSpec(SpecModel):
    """A MIG layout applied to every GPU of the pool's nodes.

    `profiles` maps a MIG profile of the pool's GPU (`1g.10gb`, `3g.40gb`...) to how many instances of it
    each GPU carries. One profile per GPU lets the cluster use the device plugin's `single` strategy
    (every MIG device is `nvidia.com/gpu`); several profiles need `mixed` (`nvidia.com/mig-<profile>`).
    """

    profiles: dict[str, int] = Field(min_length=1)


class TimeSlicingSpec(SpecModel):
    """Time-slicing: each GPU is advertised `replicas` times and the workloads share it in turns.

    No memory or fault isolation between the sharers; use MIG for that.
    """

    replicas: int
    rename_by_default: bool = Field(
        default=False, description="Advertise `nvidia.com/gpu.shared` instead of `nvidia.com/gpu`. Default: off."
    )
    fail_requests_greater_than_one: bool = Field(
        default=True,
        description="Reject pods asking for more than one shared GPU (they would get no more compute). "
        "Default: on.",
    )


class MpsSpec(SpecModel):
    """MPS sharing: up to `replicas` processes run on each GPU at once, each with an equal memory share."""

    replicas: int
    rename_by_default: bool = Field(
        default=False, description="Advertise `nvidia.com/gpu.shared` instead of `nvidia.com/gpu`. Default: off."
    )


# The EKS node image of a pool that sets no `ami_family`.
DEFAULT_AMI_FAMILY = "al2023"


class PoolSpec(SpecModel):
    """A pool of identical GPU nodes.

    Name the GPU (`gpu`), the instance or machine type, or both; the catalog fills in the other and
    rejects combinations that do not exist.
    """

    name: Name
    gpu: str | None = Field(
        default=None, description="Catalog GPU model (`H100-80GB`, `L4-24GB`). Default: the instance type's GPU."
    )
    instance_types: list[str] = Field(
        default_factory=list,
        description="EC2 instance types (AWS). Several are allowed, and advised, for spot pools. "
        "Default: the smallest catalog type with `gpu` and `gpus_per_node`.",
    )
    machine_type: str | None = Field(
        default=None,
        description="Compute Engine machine type (GCP). Default: the smallest catalog type with `gpu` and "
        "`gpus_per_node`.",
    )
    gpus_per_node: int | float | None = Field(
        default=None, description="Whole GPUs per node. Default: what the instance or machine type carries."
    )
    min_nodes: int = Field(default=0, description="Lower bound of the autoscaler. Default: 0 (scale to zero).")
    max_nodes: int = Field(description="Upper bound of the autoscaler; bounds the pool's GPU capacity.")
    spot: bool = Field(default=False, description="Spot / preemptible capacity. Default: on-demand.")
    provisioner: Literal["managed", "karpenter"] = Field(
        default="managed",
        description="`managed`: an EKS managed node group or GKE node pool; `karpenter`: a Karpenter NodePool "
        "(AWS only). Default: managed.",
    )
    mig: MigSpec | None = Field(default=None, description="MIG layout per GPU. Default: no MIG (whole GPUs).")
    time_slicing: TimeSlicingSpec | None = Field(default=None, description="Default: no time-slicing.")
    mps: MpsSpec | None = Field(default=None, description="Default: no MPS.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra node labels.")
    taints: list[Taint] = Field(
        default_factory=list,
        description="Extra taints. The GPU taint `nvidia.com/gpu=present:NoSchedule` is always added, and "
        "`mlinfra.io/gpu-resource` (a reserved key) where the nodes advertise no whole `nvidia.com/gpu`.",
    )
    disk_size_gib: int = Field(
        default=200, description="Root volume size; ML images are large. Default: 200 GiB."
    )
    disk_type: str | None = Field(
        default=None,
        description="Boot disk type (GCP): `pd-balanced`, `pd-ssd`, `pd-standard` or `hyperdisk-balanced`, as "
        "the machine series accepts. Default: pd-balanced, hyperdisk-balanced on the Hyperdisk-only series "
        "(A3 Ultra, A4, A4X, G4).",
    )
    ami_family: Literal["al2023", "bottlerocket"] | None = Field(
        default=None,
        description="EKS node image (AWS). `al2023`: Amazon Linux 2023, the NVIDIA variant when the cloud owns "
        "the driver; `bottlerocket`: Bottlerocket NVIDIA. Default: al2023.",
    )
    zones: list[str] = Field(
        default_factory=list,
        description="Zones of the cluster's region the pool's nodes run in (GCP: the node pool's "
        "`node_locations`). GPU models are offered in some zones of a region only; name those. Default: the "
        "cluster's zones.",
    )
    secure_boot: bool | None = Field(
        default=None,
        description="Shielded-VM secure boot (GCP). Default: on, off when the GPU operator compiles the driver "
        "(unsigned kernel modules do not load under secure boot).",
    )
