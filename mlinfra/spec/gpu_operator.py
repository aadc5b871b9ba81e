"""NVIDIA GPU operator settings of a cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlinfra.spec.base import SpecModel


class GpuOperatorSpec(SpecModel):
    """How the GPU operator runs on a cluster."""

    enabled: bool = Field(default=True, description="Install the GPU operator. Default: on.")
    driver: Literal["cloud", "operator"] = Field(
        default="cloud",
        description="Who installs the NVIDIA driver. `cloud`: the node image or the cloud does (EKS NVIDIA "
        "AMIs and Bottlerocket; GKE's driver installation), and the operator leaves it alone. `operator`: "
        "the GPU operator compiles and installs it (GKE driver installation disabled, plain node images, "
        "secure boot off). On GKE this also picks the device plugin: `cloud` keeps GKE's (MIG through "
        "gpu_partition_size, sharing through gpu_sharing_config, the operator's plugin and MIG manager off); "
        "`operator` switches GKE's off and runs the operator's, as on EKS. Default: cloud.",
    )
    mig_strategy: Literal["auto", "single", "mixed"] = Field(
        default="auto",
        description="The device plugin's MIG strategy. `auto`: derived from the pools (`single` when every "
        "MIG pool uses one profile per GPU, `mixed` otherwise; always `single` on GKE with `driver: cloud`). "
        "`single` or `mixed` pins it: the preview fails when the pools would need another strategy, because a "
        "change of strategy renames the resources every MIG workload requests (`nvidia.com/gpu` vs "
        "`nvidia.com/mig-<profile>`). Default: auto.",
    )
    time_slicing_on_mig: bool = Field(
        default=False,
        description="Allow `time_slicing` on MIG pools: each MIG device is then shared in turns by `replicas` "
        "pods (no isolation between the sharers of one MIG device). Without it a pool with both is an error, "
        "since it usually means a forgotten block. Default: off.",
    )
    dcgm_exporter: bool = Field(
        default=True,
        description="Run dcgm-exporter with mlinfra's counters (catalog/dcgm.py); its ServiceMonitor is created "
        "when the environment's monitoring is enabled. Default: on.",
    )
