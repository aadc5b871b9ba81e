"""The render summary: clusters, pools, GPU capacity, queues and quotas, as Markdown tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mlinfra.problems import Problem
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import ResolvedPool, cluster_mig_strategy, resolve_cluster_pools


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _sharing(pool: ResolvedPool) -> str:
    if pool.spec.time_slicing:
        return f"time-slicing x{pool.spec.time_slicing.replicas}"
    if pool.spec.mps:
        return f"MPS x{pool.spec.mps.replicas}"
    return "-"


def _mig(pool: ResolvedPool) -> str:
    if pool.spec.mig is None:
        return "-"
    return " + ".join(f"{n}x {p}" for p, n in sorted(pool.spec.mig.profiles.items()))


def _types(pool: ResolvedPool) -> str:
    return ", ".join(pool.instance_types) if pool.instance_types else str(pool.machine_type)


def summary_markdown(
    env: EnvironmentSpec, registrations: list[Any] | None = None, warnings: list[Problem] | None = None,
    records: list[Any] | None = None,
) -> str:
    """The summary of one environment; `registrations` adds resource counts per type, `warnings` the spec's
    warnings (they do not stop a deployment, so the summary is where a reviewer sees them), `records` (the
    render's resources.json entries) the estimated time of `pulumi up` and its critical path per cluster."""
    lines = [f"# mlinfra environment `{env.environment}`", ""]
    if warnings:
        lines += ["## Warnings", "", *(f"- `{w.path}`: {w.message}" for w in warnings), ""]
    lines += ["## Clusters", ""]
    lines += _table(
        ["cluster", "cloud", "region", "created", "scheduler", "MIG strategy", "pools"],
        [
            [c.name, c.cloud, c.region, "no (existing)" if c.existing else "yes", c.scheduler,
             cluster_mig_strategy(c), len(c.pools)]
            for c in env.clusters
        ],
    )
    pools = [p for c in env.clusters for p in resolve_cluster_pools(c)]
    lines += ["", "## GPU pools", ""]
    lines += _table(
        ["pool", "cluster", "cloud", "GPU", "GPUs/node", "min", "max", "capacity", "provisioner", "MIG layout",
         "sharing", "instance/machine types"],
        [
            [p.name, p.cluster, p.cloud, p.gpu.name, p.gpus_per_node, p.spec.min_nodes, p.spec.max_nodes,
             p.capacity_type, p.spec.provisioner, _mig(p), _sharing(p), _types(p)]
            for p in pools
        ],
    )
    lines += ["", "## GPU capacity (at max nodes)", ""]
    rows = []
    for c in env.clusters:
        cluster_pools = [p for p in pools if p.cluster == c.name]
        resources: Counter[str] = Counter()
        for p in cluster_pools:
            resources.update(p.max_resources())
        rows.append([
            c.name,
            sum(p.max_gpus for p in cluster_pools),
            ", ".join(f"{k}: {v}" for k, v in sorted(resources.items())) or "-",
        ])
    lines += _table(["cluster", "physical GPUs", "schedulable resources"], rows)
    lines += ["", "## Queues and quotas", ""]
    from mlinfra.k8s.scheduling import queue_rows

    queue_table = queue_rows(env)
    if queue_table:
        lines += _table(["team", "cluster", "scheduler", "queue", "cohort", "quotas per flavor"], queue_table)
    else:
        lines.append("No teams defined.")
    if records is not None:
        from mlinfra.offline.critical_path import markdown as critical_path_markdown

        lines += ["", *critical_path_markdown(records)][:-1]
    if registrations is not None:
        lines += ["", *_resource_counts(registrations)]
    return "\n".join(lines) + "\n"


def _resource_counts(registrations: list[Any]) -> list[str]:
    counts = Counter(r.type for r in registrations)
    lines = ["## Resources", ""]
    lines += _table(["type", "count"], [[t, n] for t, n in sorted(counts.items())])
    return [*lines, "", f"{len(registrations)} resources in total."]


def resources_markdown(config: Any, registrations: list[Any]) -> str:
    """The summary of a project that is not a platform stack (a team stack): what it registers."""
    lines = [f"# {config.project} stack `{config.stack}`", "", *_resource_counts(registrations)]
    return "\n".join(lines) + "\n"
