"""Add-on entry point for scheduling (the component lands with its issue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi

    from mlinfra.context import ClusterContext


def addon(ctx: ClusterContext) -> pulumi.ComponentResource | None:
    """Create the scheduling add-on for the cluster, or None when the spec does not ask for it."""
    return None
