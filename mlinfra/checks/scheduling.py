"""Cross-layer checks of the scheduling section: teams, cohorts, flavors and quotas against clusters and pools."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal

from mlinfra.k8s.scheduling import cluster_flavors, cluster_teams, selects
from mlinfra.problems import Problem, path_join
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import resolve_cluster_pools
from mlinfra.spec.scheduling import Quantity, parse_quantity

# Volcano creates these queues itself.
_RESERVED_VOLCANO = ("root", "default")


def _quantity(path: str, value: Quantity) -> tuple[Decimal | None, list[Problem]]:
    try:
        q = parse_quantity(value)
    except ValueError:
        return None, [Problem(path, value, "not a Kubernetes quantity; write a number or a string like '500m', "
                                            "'64Gi', '8'")]
    if q < 0:
        return None, [Problem(path, value, "must not be negative")]
    return q, []


def check_teams(env: EnvironmentSpec) -> Iterator[Problem]:
    """Unique team names and namespaces; each team's cluster exists and runs a scheduler."""
    names = Counter(t.name for t in env.scheduling.teams)
    namespaces = Counter((t.cluster, t.namespace_name) for t in env.scheduling.teams)
    clusters = [c.name for c in env.clusters]
    for i, team in enumerate(env.scheduling.teams):
        base = path_join("scheduling", "teams", i)
        if names[team.name] > 1:
            yield Problem(path_join(base, "name"), team.name, "duplicate team name; team names must be unique "
                          "(they name the team's ClusterQueue or Volcano queue)")
        elif namespaces[(team.cluster, team.namespace_name)] > 1:
            yield Problem(path_join(base, "namespace"), team.namespace_name,
                          f"two teams on cluster {team.cluster} share this namespace; give each team its own")
        cluster = env.cluster(team.cluster)
        if cluster is None:
            yield Problem(path_join(base, "cluster"), team.cluster,
                          f"no such cluster; clusters: {', '.join(clusters)}")
        elif cluster.scheduler == "none":
            yield Problem(path_join(base, "cluster"), team.cluster,
                          f"cluster {team.cluster} has scheduler 'none'; set clusters[].scheduler to kueue or "
                          "volcano, or put the team on a cluster that has one")
        elif cluster.scheduler == "volcano" and team.name in _RESERVED_VOLCANO:
            yield Problem(path_join(base, "name"), team.name,
                          "Volcano reserves the queue names root and default; choose another team name")
        for key in ("default_container_cpu", "default_container_memory"):
            yield from _quantity(path_join(base, key), getattr(team, key))[1]
        if team.fair_sharing_weight is not None:
            yield from _quantity(path_join(base, "fair_sharing_weight"), team.fair_sharing_weight)[1]
            if not env.scheduling.fair_sharing and cluster is not None and cluster.scheduler == "kueue":
                yield Problem(path_join(base, "fair_sharing_weight"), team.fair_sharing_weight,
                              "has no effect while scheduling.fair_sharing is off; turn it on or drop the weight",
                              severity="warning")
        p = team.preemption
        if p.reclaim_within_cohort == "Never" and p.borrow_within_cohort != "Never":
            yield Problem(path_join(base, "preemption", "borrow_within_cohort"), p.borrow_within_cohort,
                          "borrow_within_cohort needs reclaim_within_cohort LowerPriority or Any (got "
                          "reclaim_within_cohort Never); set borrow_within_cohort to Never or allow reclaim")
        if p.borrow_max_priority_threshold is not None and p.borrow_within_cohort == "Never":
            yield Problem(path_join(base, "preemption", "borrow_max_priority_threshold"),
                          p.borrow_max_priority_threshold,
                          "only applies with borrow_within_cohort LowerPriority", severity="warning")


def check_cohorts(env: EnvironmentSpec) -> Iterator[Problem]:
    """Cohorts live on existing clusters, are declared once per cluster, and their parents form no cycle."""
    seen = Counter((c.cluster, c.name) for c in env.scheduling.cohorts)
    team_names = {(t.cluster, t.name) for t in env.scheduling.teams}
    for i, c in enumerate(env.scheduling.cohorts):
        base = path_join("scheduling", "cohorts", i)
        cluster = env.cluster(c.cluster)
        if cluster is None:
            yield Problem(path_join(base, "cluster"), c.cluster,
                          f"no such cluster; clusters: {', '.join(x.name for x in env.clusters)}")
        elif cluster.scheduler == "volcano" and (c.name in _RESERVED_VOLCANO or (c.cluster, c.name) in team_names):
            yield Problem(path_join(base, "name"), c.name, "on Volcano a cohort is a parent queue; its name must "
                          "differ from root, default and the team names")
        if seen[(c.cluster, c.name)] > 1:
            yield Problem(path_join(base, "name"), c.name, f"cohort declared twice on cluster {c.cluster}")
        if c.fair_sharing_weight is not None:
            yield from _quantity(path_join(base, "fair_sharing_weight"), c.fair_sharing_weight)[1]
    parents: dict[tuple[str, str], str] = {(c.cluster, c.name): c.parent for c in env.scheduling.cohorts if c.parent}
    reported: set[frozenset[str]] = set()
    for i, c in enumerate(env.scheduling.cohorts):
        chain = [c.name]
        node = parents.get((c.cluster, c.name))
        while node is not None and node not in chain:
            chain.append(node)
            node = parents.get((c.cluster, node))
        if node is not None and node == c.name and frozenset(chain) not in reported:
            reported.add(frozenset(chain))
            yield Problem(path_join("scheduling", "cohorts", i, "parent"), c.parent,
                          "cohort parents form a cycle: " + " -> ".join([*chain, c.name])
                          + "; a cohort tree needs a root without a parent")


def check_quotas(env: EnvironmentSpec) -> Iterator[Problem]:
    """Flavors select pools; quotas name real flavors and resources the pools provide, within capacity."""
    for i, group in enumerate(env.scheduling.flavors):
        base = path_join("scheduling", "flavors", i)
        cluster = env.cluster(group.cluster)
        if cluster is None:
            yield Problem(path_join(base, "cluster"), group.cluster,
                          f"no such cluster; clusters: {', '.join(x.name for x in env.clusters)}")
            continue
        pools = resolve_cluster_pools(cluster)
        if group.name in {p.name for p in pools}:
            yield Problem(path_join(base, "name"), group.name, "a pool of this name already has its own flavor; "
                          "choose another name")
        picked = [p for p in pools if selects(group.node_labels, p)]
        if not picked:
            yield Problem(path_join(base, "node_labels"), group.node_labels,
                          f"selects no pool of cluster {cluster.name}; pools and their labels: "
                          + "; ".join(f"{p.name} {p.labels}" for p in pools) if pools else
                          f"selects no pool: cluster {cluster.name} has no pools")
        elif len({p.spec.spot for p in picked}) > 1:
            yield Problem(path_join(base, "node_labels"), group.node_labels,
                          "selects both spot and on-demand pools (" + ", ".join(p.name for p in picked)
                          + "); add mlinfra.io/capacity-type so spot and on-demand stay distinct flavors")

    # By identity: list.index compares pydantic models field by field, quadratic in teams (1.2 s at 1600).
    team_index = {id(t): i for i, t in enumerate(env.scheduling.teams)}
    for cluster in env.clusters:
        if cluster.scheduler == "none":
            continue
        pools = resolve_cluster_pools(cluster)
        flavors = cluster_flavors(env, cluster, pools)
        nominal: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        where: dict[tuple[str, str], list[str]] = defaultdict(list)
        for team in cluster_teams(env, cluster.name):
            i = team_index[id(team)]
            base = path_join("scheduling", "teams", i)
            flavor_seen: Counter[str] = Counter()
            for j, quota in enumerate(team.quotas):
                qbase = path_join(base, "quotas", j)
                flavor_seen[quota.flavor] += 1
                if flavor_seen[quota.flavor] == 2:
                    yield Problem(path_join(qbase, "flavor"), quota.flavor,
                                  "flavor listed twice in the team's quotas; merge the entries")
                flavor = flavors.get(quota.flavor)
                if flavor is None:
                    yield Problem(path_join(qbase, "flavor"), quota.flavor,
                                  f"no such flavor on cluster {cluster.name}; flavors: {', '.join(flavors) or 'none'}")
                capacity = flavor.capacity() if flavor else {}
                for resource, value in quota.resources.items():
                    q, problems = _quantity(path_join(qbase, "resources", resource), value)
                    yield from problems
                    if flavor is not None and flavor.pools and resource not in capacity:
                        yield Problem(path_join(qbase, "resources", resource), value,
                                      f"no pool of flavor {flavor.name} provides {resource}; its pools provide: "
                                      + ", ".join(sorted(capacity)))
                    elif q is not None and flavor is not None:
                        nominal[(flavor.name, resource)] += q
                        where[(flavor.name, resource)].append(path_join(qbase, "resources", resource))
                for part in ("borrowing_limit", "lending_limit"):
                    limits = getattr(quota, part)
                    for resource, value in limits.items():
                        path = path_join(qbase, part, resource)
                        q, problems = _quantity(path, value)
                        yield from problems
                        if team.cohort is None:
                            yield Problem(path, value, f"{part} needs the team to be in a cohort (set "
                                          f"scheduling.teams[{i}].cohort); without one nothing is borrowed or lent")
                        elif resource not in quota.resources:
                            yield Problem(path, value, f"{resource} has no nominal quota in this entry; add it "
                                          "to resources first")
                        elif part == "lending_limit" and q is not None:
                            try:
                                nom = parse_quantity(quota.resources[resource])
                            except ValueError:
                                continue
                            if q > nom:
                                yield Problem(path, value, f"lending limit above the nominal quota "
                                              f"{quota.resources[resource]}; a team can lend at most what it has")
        for (flavor_name, resource), total in sorted(nominal.items()):
            have = flavors[flavor_name].capacity().get(resource, Decimal(0))
            if total > have:
                overcommit = env.scheduling.overcommit
                yield Problem(
                    where[(flavor_name, resource)][-1],
                    _plain(total),
                    f"nominal quotas on flavor {flavor_name} add up to more {resource} than its pools hold at "
                    f"max nodes ({_plain(have)})"
                    + ("; allowed by scheduling.overcommit" if overcommit else
                       "; lower the quotas, raise max_nodes, or set scheduling.overcommit for autoscaling beyond"),
                    severity="warning" if overcommit else "error",
                )


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def check_priorities(env: EnvironmentSpec) -> Iterator[Problem]:
    """Priority class names are unique and their values in the range Kubernetes allows user classes."""
    names = Counter(p.name for p in env.scheduling.priority_classes)
    for i, pc in enumerate(env.scheduling.priority_classes):
        base = path_join("scheduling", "priority_classes", i)
        if names[pc.name] > 1:
            yield Problem(path_join(base, "name"), pc.name, "duplicate priority class name")
        if pc.name.startswith("system-"):
            yield Problem(path_join(base, "name"), pc.name, "the system- prefix is reserved by Kubernetes")
        if not -2_147_483_648 <= pc.value <= 1_000_000_000:
            yield Problem(path_join(base, "value"), pc.value,
                          "must be between -2147483648 and 1000000000 (higher values are reserved for system classes)")


def check(env: EnvironmentSpec) -> Iterator[Problem]:
    """Every problem of the scheduling section."""
    yield from check_teams(env)
    yield from check_cohorts(env)
    yield from check_quotas(env)
    yield from check_priorities(env)
