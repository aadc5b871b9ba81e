"""Batch scheduling: teams, their queues and quotas (Kueue or Volcano, chosen per cluster)."""

from __future__ import annotations

from pydantic import Field

from mlinfra.spec.base import Name, SpecModel


class TeamSpec(SpecModel):
    """A team that submits work through a queue on a cluster."""

    name: Name
    cluster: str = Field(description="Cluster whose scheduler the team's queue lives in.")


class SchedulingSpec(SpecModel):
    """Teams and queueing policy shared by every cluster's scheduler."""

    teams: list[TeamSpec] = Field(default_factory=list)
