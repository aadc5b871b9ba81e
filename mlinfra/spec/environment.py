"""The environment: everything one stack (dev, staging, prod) provisions."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field

from mlinfra.spec.base import Name, SpecModel
from mlinfra.spec.caches import CacheSpec
from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.monitoring import MonitoringSpec
from mlinfra.spec.scheduling import SchedulingSpec


class EnvironmentSpec(SpecModel):
    """One environment, read from the stack's structured config key `mlinfra:platform`."""

    environment: Name = Field(description="Environment name (`dev`, `staging`, `prod`); prefixes cloud names.")
    clusters: list[ClusterSpec] = Field(min_length=1)
    scheduling: SchedulingSpec = Field(default_factory=lambda: SchedulingSpec())
    caches: list[CacheSpec] = Field(default_factory=list)
    monitoring: MonitoringSpec = Field(default_factory=lambda: MonitoringSpec())

    def cluster(self, name: str) -> ClusterSpec | None:
        """The cluster called `name` (the first, should the spec repeat a name), or None."""
        return self.clusters_by_name.get(name)

    @cached_property
    def clusters_by_name(self) -> dict[str, ClusterSpec]:
        """Cluster name -> its spec (the first of a repeated name). Built once: the spec is frozen, and the checks
        and components look clusters up by name per team and per flavor."""
        index: dict[str, ClusterSpec] = {}
        for c in self.clusters:
            index.setdefault(c.name, c)
        return index
