"""Data caches: Alluxio through Fluid, placed next to the GPU pools that read the data."""

from __future__ import annotations

from pydantic import Field

from mlinfra.spec.base import Name, SpecModel


class CacheSpec(SpecModel):
    """One cached dataset."""

    name: Name
    cluster: str = Field(description="Cluster the cache runs on.")
