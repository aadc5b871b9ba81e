"""The critical path of `pulumi up`: the longest chain of resources that each wait for the one before.

The engine creates every resource whose dependencies are done, in parallel (`pulumi up --parallel` defaults to
no limit), so a deployment takes at least as long as its critical path. Each resource costs its typical
creation time (`mlinfra.catalog.timings`); what it waits for is the dependency graph of the render
(`mlinfra.offline.graph`: dependencies, parent, provider).
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlinfra.catalog.timings import creation_time
from mlinfra.offline.graph import Graph


@dataclass(frozen=True)
class CriticalPath:
    """The longest chain ending in one cluster (or the whole stack): total minutes and (resource, minutes) steps
    in creation order, leaving out steps that take no time (components, providers)."""

    minutes: float
    steps: tuple[tuple[str, float], ...]

    def text(self, limit: int = 12) -> str:
        """`a (12) → b (4) → …` with at most `limit` steps (the first and last ones kept)."""
        steps = [f"`{name}` ({_minutes(m)})" for name, m in self.steps]
        if len(steps) > limit:
            steps = [*steps[: limit // 2], "…", *steps[-(limit - limit // 2 - 1):]]
        return " → ".join(steps)


def _minutes(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0") if value >= 0.95 else f"{value:.2f}".rstrip("0").rstrip(".")


def critical_paths(records: Sequence[Mapping[str, Any]]) -> dict[str | None, CriticalPath]:
    """The critical path per cluster (key: cluster name) and of the whole stack (key: None).

    Raises `graphlib.CycleError` for a graph with a cycle (MLI-GRAPH-004 reports it).
    """
    graph = Graph(records)
    finish: dict[str, float] = {}
    cost: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for ref in graph.order():
        record = graph.records[ref]
        deps = graph.direct(ref)
        before = max(deps, key=lambda d: (finish[d], d)) if deps else None
        cost[ref] = creation_time(str(record.get("type", "")), record.get("inputs") or {}).minutes
        finish[ref] = (finish[before] if before is not None else 0.0) + cost[ref]
        via[ref] = before

    def path(end: str) -> CriticalPath:
        steps: list[tuple[str, float]] = []
        node: str | None = end
        while node is not None:
            if cost[node] > 0:
                steps.append((node, cost[node]))
            node = via[node]
        return CriticalPath(round(finish[end], 2), tuple(reversed(steps)))

    ends: dict[str | None, str] = {}
    for ref in finish:
        for key in (graph.cluster_of(ref), None):
            current = ends.get(key)
            if current is None or (finish[ref], ref) > (finish[current], current):
                ends[key] = ref
    return {key: path(end) for key, end in ends.items()}


def markdown(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The summary section: estimated minutes and critical path per cluster and for the stack."""
    lines = ["## Time to a working platform (estimated)", ""]
    try:
        paths = critical_paths(records)
    except graphlib.CycleError as err:
        return [*lines, f"Not estimated: the dependency graph has a cycle ({' -> '.join(map(str, err.args[1]))}).", ""]
    lines += [
        "`pulumi up` creates resources in parallel as soon as what they wait for exists, so it takes at least "
        "the critical path below: the longest chain of resources each waiting for the one before. Minutes are "
        "typical creation times from `mlinfra/catalog/timings.py`, most of them estimates (each gives its "
        "source).",
        "",
        "| cluster | minutes | critical path |",
        "|---|---|---|",
    ]
    clusters = sorted(k for k in paths if k is not None)
    for cluster in clusters:
        lines.append(f"| {cluster} | {_minutes(paths[cluster].minutes)} | {paths[cluster].text()} |")
    if None in paths:
        total = paths[None]
        lines += ["", f"Whole stack: **{_minutes(total.minutes)} min** (clusters are created in parallel; the "
                      "slowest one sets the time)."]
    return [*lines, ""]
