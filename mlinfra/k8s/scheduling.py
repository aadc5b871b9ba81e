"""Batch scheduling: the add-on entry that dispatches a cluster to Kueue or Volcano.

The model they share (flavors, GPU classes, quotas, queues, outputs) lives in `scheduling_model`; the names
below are re-exported from there for callers that import them from this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlinfra.k8s.scheduling_model import (
    MIB,
    Flavor,
    cluster_flavors,
    cluster_outputs,
    cluster_teams,
    pool_capacity,
    queue_name,
    queue_rows,
    selects,
    team_outputs,
    team_quotas,
)

if TYPE_CHECKING:
    import pulumi

    from mlinfra.context import ClusterContext

__all__ = [
    "MIB",
    "Flavor",
    "addon",
    "cluster_flavors",
    "cluster_outputs",
    "cluster_teams",
    "pool_capacity",
    "queue_name",
    "queue_rows",
    "selects",
    "team_outputs",
    "team_quotas",
]


def addon(ctx: ClusterContext) -> pulumi.ComponentResource | None:
    """The cluster's batch scheduler (`clusters[].scheduler`): Kueue, Volcano, or None for `none`."""
    if ctx.cluster.scheduler == "kueue":
        from mlinfra.k8s.kueue import kueue_addon

        return kueue_addon(ctx)
    if ctx.cluster.scheduler == "volcano":
        from mlinfra.k8s.volcano import volcano_addon

        return volcano_addon(ctx)
    return None
