"""NVIDIA GPU operator settings of a cluster."""

from __future__ import annotations

from pydantic import Field

from mlinfra.spec.base import SpecModel


class GpuOperatorSpec(SpecModel):
    """How the GPU operator runs on a cluster."""

    enabled: bool = Field(default=True, description="Install the GPU operator. Default: on.")
