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
        "secure boot off). Default: cloud.",
    )
