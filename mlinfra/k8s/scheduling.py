"""Batch scheduling shared by Kueue and Volcano: flavors over pools, each team's quotas, and the add-on entry."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from mlinfra.spec.resolve import LABEL_POOL, ResolvedPool
from mlinfra.spec.scheduling import Quantity, QuotaSpec, TeamSpec, parse_quantity

if TYPE_CHECKING:
    import pulumi

    from mlinfra.context import ClusterContext
    from mlinfra.spec.clusters import ClusterSpec
    from mlinfra.spec.environment import EnvironmentSpec

MIB = Decimal(2**20)


def pool_capacity(pool: ResolvedPool) -> dict[str, Decimal]:
    """Everything a pool holds at `max_nodes`: its extended GPU resources, cpu (cores) and memory (bytes)."""
    nodes = pool.spec.max_nodes
    out = {k: Decimal(v) for k, v in pool.max_resources().items()}
    out["cpu"] = Decimal(pool.vcpu_per_node * nodes)
    out["memory"] = Decimal(pool.memory_mib_per_node * nodes) * MIB
    return out


@dataclass(frozen=True)
class Flavor:
    """A Kueue ResourceFlavor: node labels that select real pools, and the tolerations their taints need."""

    name: str
    node_labels: dict[str, str]
    pools: tuple[ResolvedPool, ...]

    @property
    def tolerations(self) -> list[dict[str, str]]:
        """One toleration per distinct taint of the selected pools, so admitted pods can land on any of them."""
        seen: list[dict[str, str]] = []
        for pool in self.pools:
            for tol in pool.toleration:
                if tol not in seen:
                    seen.append(tol)
        return seen

    @property
    def spot(self) -> bool | None:
        """True/False when every pool agrees on spot capacity; None for a mixed group."""
        kinds = {p.spec.spot for p in self.pools}
        return kinds.pop() if len(kinds) == 1 else None

    def capacity(self) -> dict[str, Decimal]:
        """The flavor's pools together at max nodes."""
        total: defaultdict[str, Decimal] = defaultdict(Decimal)
        for pool in self.pools:
            for k, v in pool_capacity(pool).items():
                total[k] += v
        return dict(total)


def selects(node_labels: dict[str, str], pool: ResolvedPool) -> bool:
    """True when a pool's nodes carry every one of the labels."""
    return all(pool.labels.get(k) == v for k, v in node_labels.items())


def cluster_flavors(env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]) -> dict[str, Flavor]:
    """Every flavor of a cluster: one per pool (selected by `mlinfra.io/pool`), then the spec's pool groups."""
    flavors = {p.name: Flavor(p.name, {LABEL_POOL: p.name}, (p,)) for p in pools}
    for group in env.scheduling.flavors:
        if group.cluster == cluster.name:
            flavors[group.name] = Flavor(
                group.name, dict(group.node_labels), tuple(p for p in pools if selects(group.node_labels, p))
            )
    return flavors


def cluster_teams(env: EnvironmentSpec, cluster: str) -> list[TeamSpec]:
    """The teams whose queues live on the cluster, in spec order."""
    return [t for t in env.scheduling.teams if t.cluster == cluster]


def _share(value: Decimal, resource: str, teams: int) -> Quantity:
    part = value / teams
    if resource == "memory":
        return f"{int(part // MIB)}Mi"
    return int(part)


def team_quotas(env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]) -> dict[str, list[QuotaSpec]]:
    """Each team's quotas on the cluster; teams without quotas split what the others left, per pool flavor.

    Default flavors come on-demand first so Kueue fills reliable capacity before spot.
    """
    teams = cluster_teams(env, cluster.name)
    out = {t.name: list(t.quotas) for t in teams}
    idle = [t for t in teams if not t.quotas]
    if not idle:
        return out
    flavors = cluster_flavors(env, cluster, pools)
    used: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for team in teams:
        for quota in team.quotas:
            for resource, value in quota.resources.items():
                try:
                    used[(quota.flavor, resource)] += parse_quantity(value)
                except ValueError:
                    continue  # the checks report it
    ordered = sorted(pools, key=lambda p: p.spec.spot)
    defaults = []
    for pool in ordered:
        free = {
            r: max(v - used.get((pool.name, r), Decimal(0)), Decimal(0))
            for r, v in flavors[pool.name].capacity().items()
        }
        defaults.append(
            QuotaSpec(flavor=pool.name, resources={r: _share(v, r, len(idle)) for r, v in sorted(free.items())})
        )
    for team in idle:
        out[team.name] = defaults
    return out


def queue_name(team: TeamSpec) -> str:
    """The LocalQueue (Kueue) or Queue (Volcano) a team's workloads name."""
    return team.name


def addon(ctx: ClusterContext) -> pulumi.ComponentResource | None:
    """The cluster's batch scheduler (`clusters[].scheduler`): Kueue, Volcano, or None for `none`."""
    if ctx.cluster.scheduler == "kueue":
        from mlinfra.k8s.kueue import kueue_addon

        return kueue_addon(ctx)
    if ctx.cluster.scheduler == "volcano":
        from mlinfra.k8s.volcano import volcano_addon

        return volcano_addon(ctx)
    return None


def _quota_text(quota: QuotaSpec) -> str:
    return f"{quota.flavor}: " + ", ".join(f"{r} {v}" for r, v in quota.resources.items())


def queue_rows(env: EnvironmentSpec) -> list[list[str]]:
    """Summary rows: team, cluster, scheduler, queue (namespace/name), cohort, quotas per flavor."""
    from mlinfra.spec.resolve import resolve_cluster_pools

    rows = []
    for cluster in env.clusters:
        if cluster.scheduler == "none":
            continue
        quotas = team_quotas(env, cluster, resolve_cluster_pools(cluster))
        for team in cluster_teams(env, cluster.name):
            rows.append([
                team.name, cluster.name, cluster.scheduler, f"{team.namespace_name}/{queue_name(team)}",
                team.cohort or "-", "; ".join(_quota_text(q) for q in quotas[team.name]) or "-",
            ])
    return rows


def cluster_outputs(env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]) -> dict[str, object]:
    """What team stacks read per cluster: the scheduler, the queue of each team namespace, the flavor names."""
    if cluster.scheduler == "none":
        return {"scheduler": "none", "queues": {}, "flavors": []}
    teams = cluster_teams(env, cluster.name)
    flavors = sorted(cluster_flavors(env, cluster, pools)) if cluster.scheduler == "kueue" else []
    return {
        "scheduler": cluster.scheduler,
        "queues": {t.namespace_name: queue_name(t) for t in teams},
        "flavors": flavors,
    }
