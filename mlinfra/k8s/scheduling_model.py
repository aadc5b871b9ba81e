"""The scheduling model: flavors over pools, GPU classes, and each team's quotas and queues per cluster.

Pure data decisions, shared by the checks and by both schedulers. The data flows one way: this module
imports nothing of `kueue`, `volcano`, `teams` or `scheduling`; they import it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from mlinfra.spec.resolve import LABEL_CAPACITY_TYPE, LABEL_GPU_MODEL, LABEL_POOL, ResolvedPool
from mlinfra.spec.scheduling import Quantity, QuotaSpec, TeamSpec, parse_quantity

if TYPE_CHECKING:
    from mlinfra.spec.clusters import ClusterSpec
    from mlinfra.spec.environment import EnvironmentSpec

MIB = Decimal(2**20)
# Host resources every workload requests besides its GPUs. Kueue refuses a workload that requests a
# resource its ClusterQueue does not cover, so every team queue covers these.
HOST_RESOURCES = ("cpu", "memory")
# Binary suffixes, largest first: a memory sum is written with the largest one that divides it exactly.
_BINARY = (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10))
# The GPU class of whole, unshared GPUs. Its queue keeps the team's plain name.
WHOLE_GPU = "gpu"


def is_memory(resource: str) -> bool:
    """True for resources counted in bytes (`memory`, `<x>.memory`)."""
    return resource == "memory" or resource.endswith(".memory")


def format_quantity(resource: str, value: Decimal) -> int | str:
    """A computed quantity as a manifest writes it: exact, in the largest unit that keeps it whole.

    Memory: `1824Gi` for 800Gi + 1Ti, plain bytes when no binary suffix divides it. Others: an int when
    whole, else milli-units (`1500m`), else the decimal itself.
    """
    if is_memory(resource):
        for suffix, power in _BINARY:
            unit = Decimal(2**power)
            if value != 0 and value % unit == 0:
                return f"{int(value // unit)}{suffix}"
        return int(value) if value == value.to_integral_value() else str(value)
    if value == value.to_integral_value():
        return int(value)
    milli = value * 1000
    if milli == milli.to_integral_value():
        return f"{int(milli)}m"
    return str(value)


def pool_capacity(pool: ResolvedPool) -> dict[str, Decimal]:
    """Everything a pool holds at `max_nodes`: its extended GPU resources, cpu (cores) and memory (bytes)."""
    nodes = pool.spec.max_nodes
    out = {k: Decimal(v) for k, v in pool.max_resources().items()}
    out["cpu"] = Decimal(pool.vcpu_per_node * nodes)
    out["memory"] = Decimal(pool.memory_mib_per_node * nodes) * MIB
    return out


def gpu_class(pool: ResolvedPool) -> str:
    """What one unit of the pool's GPU resource is, so work asks for the kind of GPU it means.

    `gpu`: a whole GPU. `mig-<profile>` (`mig-1g-10gb`): one MIG instance of that profile; `mig-mixed` for a
    pool with several profiles. A `-shared` suffix (or `shared` alone) when time-slicing or MPS hands each
    device out several times. On GKE every one of these is advertised as `nvidia.com/gpu`, and on EKS with the
    single MIG strategy too, so the resource name alone cannot tell them apart.
    """
    spec = pool.spec
    if spec.mig is not None:
        profiles = sorted(spec.mig.profiles)
        base = f"mig-{profiles[0].replace('.', '-')}" if len(profiles) == 1 else "mig-mixed"
    else:
        base = WHOLE_GPU
    if spec.time_slicing is not None or spec.mps is not None:
        return "shared" if base == WHOLE_GPU else f"{base}-shared"
    return base


def pool_flavor_labels(pool: ResolvedPool) -> dict[str, str]:
    """The node labels of a pool's own flavor: pool, GPU model and capacity type.

    Kueue matches a workload's node selector and required affinity against a flavor's label keys only
    (kubernetes-sigs/kueue@v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go `flavorSelector`), so a
    workload that pins `mlinfra.io/gpu-model` must meet that key on the flavor to rule the others out.
    """
    return {k: pool.labels[k] for k in (LABEL_POOL, LABEL_GPU_MODEL, LABEL_CAPACITY_TYPE) if k in pool.labels}


@dataclass(frozen=True)
class Flavor:
    """A Kueue ResourceFlavor: node labels that select real pools, and the tolerations their taints need."""

    name: str
    node_labels: dict[str, str]
    pools: tuple[ResolvedPool, ...]
    own: bool = False  # the one flavor every pool has, named after it

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

    @property
    def gpu_classes(self) -> list[str]:
        """The GPU classes of the selected pools (one for a valid flavor)."""
        return sorted({gpu_class(p) for p in self.pools})

    @property
    def gpu_class(self) -> str | None:
        """The flavor's GPU class; None when its pools disagree (the checks refuse that)."""
        classes = self.gpu_classes
        return classes[0] if len(classes) == 1 else None

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
    """Every flavor of a cluster: one per pool (selected by its own labels), then the spec's pool groups."""
    flavors = {p.name: Flavor(p.name, pool_flavor_labels(p), (p,), own=True) for p in pools}
    for group in env.scheduling.flavors:
        if group.cluster == cluster.name:
            flavors[group.name] = Flavor(
                group.name, dict(group.node_labels), tuple(p for p in pools if selects(group.node_labels, p))
            )
    return flavors


# -- teams and clusters ------------------------------------------------------------------------------------


def quota_cluster(team: TeamSpec, quota: QuotaSpec) -> str | None:
    """The cluster a quota entry applies to: its own `cluster`, else the team's only cluster."""
    if quota.cluster:
        return quota.cluster
    clusters = team.cluster_names
    return clusters[0] if len(clusters) == 1 else None


def cluster_teams(env: EnvironmentSpec, cluster: str) -> list[TeamSpec]:
    """The teams with a queue on the cluster, in spec order."""
    return list(env.scheduling.teams_by_cluster.get(cluster, ()))


def team_namespaces(env: EnvironmentSpec, cluster: str) -> dict[str, str]:
    """Team name -> the namespace its workloads run in, for the teams on the cluster."""
    return {t.name: t.namespace_name for t in cluster_teams(env, cluster)}


def quotas_on(team: TeamSpec, cluster: str) -> list[QuotaSpec]:
    """The team's own quota entries for one cluster, in spec order."""
    return [q for q in team.quotas if quota_cluster(team, q) == cluster]


# -- quotas --------------------------------------------------------------------------------------------------


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def host_share(quota: QuotaSpec, flavor: Flavor | None) -> QuotaSpec:
    """The quota with cpu and memory filled in where it names neither, as the share of the flavor that goes with it.

    A quota of 8 of a flavor's 64 GPUs also gets 1/8 of its pools' cores and memory (rounded down to a
    millicore and a MiB): the host resources that sit beside those GPUs. The shares of all teams then add up
    to no more than the pools hold. Without this, a queue covering only `nvidia.com/gpu` admits no real
    workload: Kueue reports "resource cpu unavailable in ClusterQueue"
    (kubernetes-sigs/kueue@v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go `findFlavorForPodSets`).
    """
    missing = [r for r in HOST_RESOURCES if r not in quota.resources]
    if not missing or flavor is None or not flavor.pools:
        return quota
    capacity = flavor.capacity()
    # The share follows the GPUs; a quota without any follows the host resource it names.
    named = [r for r in quota.resources if r not in HOST_RESOURCES] or list(quota.resources)
    fractions = []
    for resource in named:
        try:
            if capacity.get(resource):
                fractions.append(parse_quantity(quota.resources[resource]) / capacity[resource])
        except ValueError:
            continue  # the checks report it
    if not fractions:
        return quota
    share = min(max(fractions), Decimal(1))
    added: dict[str, Quantity] = {}
    for resource in missing:
        step = MIB if resource == "memory" else Decimal("0.001")
        added[resource] = format_quantity(resource, _floor(capacity[resource] * share, step))
    return quota.model_copy(update={"resources": {**added, **quota.resources}})


def _share(value: Decimal, resource: str, teams: int) -> Quantity:
    part = value / teams
    if resource == "memory":
        return format_quantity(resource, _floor(part, MIB))
    return int(part)


def team_quotas(env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]) -> dict[str, list[QuotaSpec]]:
    """Each team's quotas on the cluster, cpu and memory always covered (`host_share`).

    Teams that set no quotas for the cluster split what the others left, per pool flavor, on-demand first so
    Kueue fills reliable capacity before spot.
    """
    teams = cluster_teams(env, cluster.name)
    flavors = cluster_flavors(env, cluster, pools)
    out = {t.name: [host_share(q, flavors.get(q.flavor)) for q in quotas_on(t, cluster.name)] for t in teams}
    idle = [t for t in teams if not out[t.name]]
    if not idle:
        return out
    used: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for team in teams:
        for quota in out[team.name]:
            for resource, value in quota.resources.items():
                try:
                    used[(quota.flavor, resource)] += parse_quantity(value)
                except ValueError:
                    continue  # the checks report it
    defaults = []
    for pool in sorted(pools, key=lambda p: p.spec.spot):
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


# -- queues --------------------------------------------------------------------------------------------------


def queue_name(team: TeamSpec, gpu_class_name: str = WHOLE_GPU) -> str:
    """The queue of a team for one GPU class: the team name for whole GPUs, `<team>-<class>` otherwise.

    The name depends on the class alone, so adding a class later never renames a queue work already names.
    """
    return team.name if gpu_class_name == WHOLE_GPU else f"{team.name}-{gpu_class_name}"


@dataclass(frozen=True)
class TeamQueue:
    """One Kueue ClusterQueue + LocalQueue of a team: the quotas of the flavors of one GPU class."""

    team: TeamSpec
    gpu_class: str
    quotas: tuple[QuotaSpec, ...]

    @property
    def name(self) -> str:
        """The ClusterQueue and LocalQueue name."""
        return queue_name(self.team, self.gpu_class)


def split_by_class(team: TeamSpec, quotas: list[QuotaSpec], flavors: dict[str, Flavor]) -> list[TeamQueue]:
    """A team's quotas on a cluster grouped by GPU class (first appearance order), one queue each.

    One ClusterQueue per class keeps work on the class it asked for: Kueue gives a workload the first flavor
    of its queue's resource group with room (kubernetes-sigs/kueue@v0.19.2 site/content/en/docs/concepts/
    cluster_queue.md), and a MIG slice and a whole GPU can both be `nvidia.com/gpu`.
    """
    groups: dict[str, list[QuotaSpec]] = {}
    for quota in quotas:
        flavor = flavors.get(quota.flavor)
        cls = (flavor.gpu_class if flavor is not None else None) or WHOLE_GPU
        groups.setdefault(cls, []).append(quota)
    return [TeamQueue(team, cls, tuple(qs)) for cls, qs in groups.items()]


def team_queues(env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]) -> dict[str, list[TeamQueue]]:
    """Each team's queues on the cluster, one per GPU class of its quotas."""
    flavors = cluster_flavors(env, cluster, pools)
    quotas = team_quotas(env, cluster, pools)
    return {t.name: split_by_class(t, quotas[t.name], flavors) for t in cluster_teams(env, cluster.name)}


def class_pools(pools: list[ResolvedPool]) -> dict[str, list[str]]:
    """GPU class -> the pools of that class, so work can pin a class by `mlinfra.io/pool` affinity."""
    out: dict[str, list[str]] = {}
    for pool in pools:
        out.setdefault(gpu_class(pool), []).append(pool.name)
    return dict(sorted(out.items()))


def team_class_queues(
    env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]
) -> dict[str, dict[str, str]]:
    """Team name -> GPU class -> the queue work of that class names on this cluster.

    Kueue has one queue per class. Volcano has one queue per team (it has no flavors): every class maps to
    it, and the pool affinity of `class_pools` keeps work on its class.
    """
    if cluster.scheduler == "none":
        return {}
    queues = team_queues(env, cluster, pools)
    if cluster.scheduler == "kueue":
        return {team: {q.gpu_class: q.name for q in qs} for team, qs in queues.items()}
    return {team: {q.gpu_class: team for q in qs} for team, qs in queues.items()}


def cluster_outputs(env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]) -> dict[str, object]:
    """What team stacks read per cluster.

    `scheduler`; `queues`: team namespace -> GPU class -> queue name; `flavors`: Kueue flavor names;
    `gpu_classes`: GPU class -> pool names.
    """
    if cluster.scheduler == "none":
        return {"scheduler": "none", "queues": {}, "flavors": [], "gpu_classes": class_pools(pools)}
    names = team_namespaces(env, cluster.name)
    by_team = team_class_queues(env, cluster, pools)
    flavors = sorted(cluster_flavors(env, cluster, pools)) if cluster.scheduler == "kueue" else []
    return {
        "scheduler": cluster.scheduler,
        "queues": {names[team]: classes for team, classes in by_team.items()},
        "flavors": flavors,
        "gpu_classes": class_pools(pools),
    }


def team_outputs(env: EnvironmentSpec) -> dict[str, object]:
    """What team stacks read per team: its namespace and, per cluster, the scheduler, its queue per GPU class
    (`queues`) and the pools of each of those classes (`gpu_classes`), for a node affinity that pins a class."""
    from mlinfra.spec.resolve import resolve_cluster_pools

    per_cluster = {}
    for c in env.clusters:
        pools = resolve_cluster_pools(c)
        per_cluster[c.name] = (c.scheduler, team_class_queues(env, c, pools), class_pools(pools))
    out: dict[str, object] = {}
    for team in env.scheduling.teams:
        clusters = {}
        for name in team.cluster_names:
            scheduler, queues, classes = per_cluster.get(name, ("none", {}, {}))
            mine = queues.get(team.name, {})
            clusters[name] = {
                "scheduler": scheduler,
                "queues": mine,
                "gpu_classes": {cls: pools for cls, pools in classes.items() if cls in mine},
            }
        out[team.name] = {"namespace": team.namespace_name, "clusters": clusters}
    return out


def _quota_text(quota: QuotaSpec) -> str:
    return f"{quota.flavor}: " + ", ".join(f"{r} {v}" for r, v in quota.resources.items())


def queue_rows(env: EnvironmentSpec) -> list[list[str]]:
    """Summary rows: team, cluster, scheduler, queue (namespace/name), cohort, quotas per flavor."""
    from mlinfra.spec.resolve import resolve_cluster_pools

    rows = []
    specs = {t.name: t for t in env.scheduling.teams}
    for cluster in env.clusters:
        if cluster.scheduler == "none":
            continue
        pools = resolve_cluster_pools(cluster)
        for team, queues in team_queues(env, cluster, pools).items():
            spec = specs[team]
            for q in queues:
                name = q.name if cluster.scheduler == "kueue" else team
                rows.append([
                    team, cluster.name, cluster.scheduler, f"{spec.namespace_name}/{name}",
                    spec.cohort or "-", "; ".join(_quota_text(x) for x in q.quotas) or "-",
                ])
    return rows
