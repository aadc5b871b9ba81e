"""Cross-layer checks of the scheduling section: teams, cohorts, flavors and quotas against clusters and pools."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path

from mlinfra.catalog import gke as gke_facts
from mlinfra.k8s.scheduling_model import (
    HOST_RESOURCES,
    cluster_flavors,
    cluster_teams,
    gpu_class,
    host_share,
    queue_name,
    quota_cluster,
    quotas_on,
    selects,
    split_by_class,
)
from mlinfra.problems import Problem, path_join
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import resolve_cluster_pools
from mlinfra.spec.scheduling import Quantity, TeamSpec, parse_quantity

# Volcano creates these queues itself.
_RESERVED_VOLCANO = ("root", "default")

# The namespaces Kubernetes starts with, and the prefix it reserves for its own ("Avoid creating namespaces
# with the prefix kube-": https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/).
KUBERNETES_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
KUBERNETES_PREFIX = "kube-"
# Volcano's queue webhook refuses a queue deeper than this below root (`--max-queue-depth`, default 5:
# volcano-sh/volcano@v1.15.1 cmd/webhook-manager/app/options/options.go); a team queue counts itself.
VOLCANO_MAX_QUEUE_DEPTH = 5
# A ResourceFlavor holds at most 8 node labels (kueue.x-k8s.io_resourceflavors.yaml at v0.19.2,
# spec.nodeLabels maxProperties).
KUEUE_MAX_NODE_LABELS = 8
# A Volcano Queue's `weight` is an int32 from 1 to 65535 (scheduling.volcano.sh_queues.yaml at v1.15.1,
# spec.weight minimum/maximum): the API server refuses a fractional weight rounded down to 0, or a larger one.
VOLCANO_WEIGHT_RANGE = (1, 65535)

_NAMESPACE_CONSTANT = re.compile(r'^NAMESPACE = "([a-z0-9-]+)"$', re.MULTILINE)


@cache
def addon_namespaces() -> dict[str, str]:
    """Namespace -> the mlinfra module that installs an add-on there, read from each module's `NAMESPACE`.

    Read from the sources rather than imported, so checking a spec loads no Pulumi SDK; a test compares the
    result with the constants the imported modules hold.
    """
    root = Path(__file__).resolve().parent.parent
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        for name in _NAMESPACE_CONSTANT.findall(path.read_text(encoding="utf-8")):
            module = ".".join(("mlinfra", *path.relative_to(root).with_suffix("").parts))
            out.setdefault(name, module)
    return out


# Cloud -> (its managed Kubernetes, the namespaces that creates for itself beyond Kubernetes' own).
CLOUD_NAMESPACES: dict[str, tuple[str, tuple[str, ...]]] = {"gcp": ("GKE", gke_facts.MANAGED_NAMESPACES)}


def namespace_owner(namespace: str, clouds: Iterable[str] = ()) -> str | None:
    """Who owns a namespace a team may not take: Kubernetes, the team's clusters' cloud (GKE), or an mlinfra
    add-on; None when it is free. `clouds`: the clouds of the clusters the team has queues on."""
    if namespace in KUBERNETES_NAMESPACES or namespace.startswith(KUBERNETES_PREFIX):
        return "Kubernetes"
    for cloud in sorted(set(clouds)):
        owner, reserved = CLOUD_NAMESPACES.get(cloud, ("", ()))
        if namespace in reserved:
            return owner
    module = addon_namespaces().get(namespace)
    return f"the add-on of {module}" if module else None


def _quantity(path: str, value: Quantity) -> tuple[Decimal | None, list[Problem]]:
    try:
        q = parse_quantity(value)
    except ValueError:
        return None, [Problem(path, value, "not a Kubernetes quantity; write a number or a string like '500m', "
                                            "'64Gi', '8'")]
    if q < 0:
        return None, [Problem(path, value, "must not be negative")]
    return q, []


def _volcano_weight(path: str, value: Quantity) -> Iterator[Problem]:
    """A weight that becomes a Volcano Queue's `weight`: a whole number in `VOLCANO_WEIGHT_RANGE`."""
    q, problems = _quantity(path, value)
    if problems or q is None:
        return
    low, high = VOLCANO_WEIGHT_RANGE
    if q != q.to_integral_value() or not low <= q <= high:
        yield Problem(path, value, f"on Volcano the weight is a queue's integer weight: a whole number from {low} "
                      f"to {high}")


def _team_cluster_problems(env: EnvironmentSpec, team: TeamSpec, base: str) -> Iterator[Problem]:
    clusters = [c.name for c in env.clusters]
    if team.cluster and team.clusters:
        yield Problem(path_join(base, "clusters"), team.clusters,
                      f"give either cluster or clusters, not both (got cluster {team.cluster!r}); for a team on "
                      "several clusters list them all in clusters")
        return
    if not team.cluster and not team.clusters:
        yield Problem(path_join(base, "cluster"), None,
                      f"a team needs a cluster (or clusters: [a, b] to have queues on several); clusters: "
                      f"{', '.join(clusters)}")
        return
    named = [(path_join(base, "cluster"), team.cluster)] if team.cluster else [
        (path_join(base, "clusters", k), c) for k, c in enumerate(team.clusters)
    ]
    seen: set[str] = set()
    for path, name in named:
        cluster = env.cluster(name)
        if name in seen:
            yield Problem(path, name, "cluster listed twice; list each cluster once")
        seen.add(name)
        if cluster is None:
            yield Problem(path, name, f"no such cluster; clusters: {', '.join(clusters)}")
        elif cluster.scheduler == "none":
            yield Problem(path, name,
                          f"cluster {name} has scheduler 'none'; set clusters[].scheduler to kueue or "
                          "volcano, or put the team on a cluster that has one")
        elif cluster.scheduler == "volcano" and team.name in _RESERVED_VOLCANO:
            yield Problem(path_join(base, "name"), team.name,
                          "Volcano reserves the queue names root and default; choose another team name")


def check_teams(env: EnvironmentSpec) -> Iterator[Problem]:
    """Unique team names and namespaces; each team's clusters exist and run a scheduler; no system namespace."""
    names = Counter(t.name for t in env.scheduling.teams)
    namespaces = Counter((c, t.namespace_name) for t in env.scheduling.teams for c in set(t.cluster_names))
    for i, team in enumerate(env.scheduling.teams):
        base = path_join("scheduling", "teams", i)
        if names[team.name] > 1:
            yield Problem(path_join(base, "name"), team.name, "duplicate team name; team names must be unique "
                          "(they name the team's ClusterQueue or Volcano queue); a team on several clusters "
                          "is one entry with clusters: [a, b]")
        else:
            shared = sorted(c for c in set(team.cluster_names) if namespaces[(c, team.namespace_name)] > 1)
            if shared:
                yield Problem(path_join(base, "namespace"), team.namespace_name,
                              f"two teams on cluster {shared[0]} share this namespace; give each team its own")
        clouds = [c.cloud for n in team.cluster_names if (c := env.cluster(n)) is not None]
        owner = namespace_owner(team.namespace_name, clouds)
        if owner is not None:
            where = "namespace" if team.namespace else "name"
            cloud_reserved = [ns for cloud in sorted(set(clouds)) for ns in CLOUD_NAMESPACES.get(cloud, ("", ()))[1]]
            yield Problem(path_join(base, where), team.namespace_name,
                          f"namespace {team.namespace_name} belongs to {owner}; a team namespace must be "
                          "its own (set namespace to another name, e.g. team-" + team.name + "); reserved: "
                          + ", ".join([*KUBERNETES_NAMESPACES, KUBERNETES_PREFIX + "*", *cloud_reserved,
                                       *sorted(addon_namespaces())]))
        yield from _team_cluster_problems(env, team, base)
        for key in ("default_container_cpu", "default_container_memory"):
            yield from _quantity(path_join(base, key), getattr(team, key))[1]
        if team.fair_sharing_weight is not None:
            yield from _quantity(path_join(base, "fair_sharing_weight"), team.fair_sharing_weight)[1]
            if any((c := env.cluster(n)) is not None and c.scheduler == "volcano" for n in team.cluster_names):
                yield from _volcano_weight(path_join(base, "fair_sharing_weight"), team.fair_sharing_weight)
            on_kueue = any((c := env.cluster(n)) is not None and c.scheduler == "kueue" for n in team.cluster_names)
            if not env.scheduling.fair_sharing and on_kueue:
                yield Problem(path_join(base, "fair_sharing_weight"), team.fair_sharing_weight,
                              "has no effect while scheduling.fair_sharing is off; turn it on or drop the weight",
                              severity="warning")
        p = team.preemption
        if p.reclaim_within_cohort == "Never" and p.borrow_within_cohort != "Never":
            yield Problem(path_join(base, "preemption", "borrow_within_cohort"), p.borrow_within_cohort,
                          "borrow_within_cohort needs reclaim_within_cohort LowerPriority or Any (got "
                          "reclaim_within_cohort Never); set borrow_within_cohort to Never or allow reclaim")
        elif p.borrow_within_cohort != "Never" and env.scheduling.fair_sharing and any(
            (c := env.cluster(n)) is not None and c.scheduler == "kueue" for n in team.cluster_names
        ):
            # Kueue ignores borrowWithinCohort under fair sharing: it "may only be configured with Classical
            # Preemption, and not with Fair Sharing" (kubernetes-sigs/kueue@v0.19.2
            # site/content/en/docs/concepts/cluster_queue.md, Preemption).
            yield Problem(path_join(base, "preemption", "borrow_within_cohort"), p.borrow_within_cohort,
                          "has no effect while scheduling.fair_sharing is on: Kueue then preempts by fair share "
                          "(reclaim_within_cohort) and ignores borrow_within_cohort; set it to Never",
                          severity="warning")
        if p.borrow_max_priority_threshold is not None and p.borrow_within_cohort == "Never":
            yield Problem(path_join(base, "preemption", "borrow_max_priority_threshold"),
                          p.borrow_max_priority_threshold,
                          "only applies with borrow_within_cohort LowerPriority", severity="warning")


def check_cohorts(env: EnvironmentSpec) -> Iterator[Problem]:
    """Cohorts live on existing clusters, are declared once per cluster, and their parents form no cycle."""
    seen = Counter((c.cluster, c.name) for c in env.scheduling.cohorts)
    team_names = {(c, t.name) for t in env.scheduling.teams for c in t.cluster_names}
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
            if cluster is not None and cluster.scheduler == "volcano":
                yield from _volcano_weight(path_join(base, "fair_sharing_weight"), c.fair_sharing_weight)
    yield from _volcano_cohort_names(env, team_names)
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
    yield from check_cohort_clusters(env)
    yield from check_volcano_depth(env)


def _volcano_cohort_names(env: EnvironmentSpec, team_names: set[tuple[str, str]]) -> Iterator[Problem]:
    """Cohorts that teams or cohort parents name without declaring them become Volcano queues too.

    A Queue is a cluster-scoped object, one per name: a cohort named like a team of the cluster would be a
    second Queue of that name, `default` is the queue Volcano makes itself, and `root` as a parent of itself
    is refused by the queue webhook (volcano-sh/volcano@v1.15.1 pkg/webhooks/admission/queues/validate/
    validate_queue.go `validateHierarchicalQueue`). Declared cohorts are checked where they are declared.
    """
    declared = {(c.cluster, c.name) for c in env.scheduling.cohorts}
    named: list[tuple[str, str, str]] = [
        (path_join("scheduling", "teams", i, "cohort"), cluster, t.cohort)
        for i, t in enumerate(env.scheduling.teams) if t.cohort for cluster in t.cluster_names
    ]
    named += [(path_join("scheduling", "cohorts", i, "parent"), c.cluster, c.parent)
              for i, c in enumerate(env.scheduling.cohorts) if c.parent]
    reported: set[tuple[str, str]] = set()
    for path, cluster_name, name in named:
        cluster = env.cluster(cluster_name)
        if cluster is None or cluster.scheduler != "volcano" or (cluster_name, name) in declared:
            continue
        if (name in _RESERVED_VOLCANO or (cluster_name, name) in team_names) and (path, name) not in reported:
            reported.add((path, name))
            yield Problem(path, name, f"on Volcano a cohort is a parent queue on cluster {cluster_name}; its name "
                          "must differ from root, default and the team names there")


def check_cohort_clusters(env: EnvironmentSpec) -> Iterator[Problem]:
    """A cohort is one cluster's: naming one that lives elsewhere must not silently make a second one.

    Kueue cohorts and Volcano parent queues are objects of one cluster; teams on two clusters never share
    quota. A team (or cohort parent) naming a cohort declared only on other clusters, or teams on several
    clusters naming the same undeclared cohort, would each get an unrelated cohort of that name.
    """
    declared: defaultdict[str, set[str]] = defaultdict(set)
    for c in env.scheduling.cohorts:
        declared[c.name].add(c.cluster)
    named: defaultdict[str, set[str]] = defaultdict(set)
    for t in env.scheduling.teams:
        if t.cohort:
            named[t.cohort].update(t.cluster_names)
    for c in env.scheduling.cohorts:
        if c.parent:
            named[c.parent].add(c.cluster)

    def problem(path: str, name: str, cluster: str, who: str) -> Problem | None:
        if declared[name] and cluster not in declared[name]:
            return Problem(path, name, f"cohort {name} is declared on cluster {', '.join(sorted(declared[name]))}, "
                           f"not on {cluster} where {who}: a cohort shares quota only within one cluster, so "
                           f"{cluster} would get a second, unrelated {name}. Declare it on {cluster} too "
                           f"(scheduling.cohorts: - {{name: {name}, cluster: {cluster}}}) or name a cohort of "
                           f"{cluster}")
        if not declared[name] and len(named[name]) > 1:
            return Problem(path, name, f"cohort {name} is named on clusters {', '.join(sorted(named[name]))} and "
                           f"declared on none: each cluster would get its own, unrelated {name}. Name one cohort "
                           f"per cluster, or declare {name} on each cluster in scheduling.cohorts to mean exactly "
                           "that")
        return None

    for i, t in enumerate(env.scheduling.teams):
        if t.cohort:
            for cluster in dict.fromkeys(t.cluster_names):
                found = problem(path_join("scheduling", "teams", i, "cohort"), t.cohort, cluster,
                                f"team {t.name} has its queue")
                if found is not None:
                    yield found
                    break
    for i, c in enumerate(env.scheduling.cohorts):
        if c.parent:
            found = problem(path_join("scheduling", "cohorts", i, "parent"), c.parent, c.cluster,
                            f"cohort {c.name} lives")
            if found is not None:
                yield found


def check_volcano_depth(env: EnvironmentSpec) -> Iterator[Problem]:
    """On Volcano a team queue sits below its cohort queues; the webhook limits how deep that goes."""
    for i, t in enumerate(env.scheduling.teams):
        if not t.cohort:
            continue
        for name in t.cluster_names:
            cluster = env.cluster(name)
            if cluster is None or cluster.scheduler != "volcano":
                continue
            parents = {c.name: c.parent for c in env.scheduling.cohorts if c.cluster == name}
            chain: list[str] = [t.name]
            node: str | None = t.cohort
            while node is not None and node not in chain:
                chain.append(node)
                node = parents.get(node)
            if len(chain) > VOLCANO_MAX_QUEUE_DEPTH:
                yield Problem(path_join("scheduling", "teams", i, "cohort"), t.cohort,
                              f"on Volcano (cluster {name}) team queue {t.name} would sit {len(chain)} levels below "
                              f"root ({' -> '.join(reversed(chain))}); Volcano's queue webhook allows at most "
                              f"{VOLCANO_MAX_QUEUE_DEPTH}: nest fewer cohorts")


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
        elif len({gpu_class(p) for p in picked}) > 1:
            yield Problem(path_join(base, "node_labels"), group.node_labels,
                          "selects pools of different GPU classes ("
                          + ", ".join(f"{p.name}: {gpu_class(p)}" for p in picked)
                          + "); a flavor must hold one kind of GPU (whole, one MIG profile, shared) so work "
                          "lands on the kind it asked for: add a label that tells them apart")
        if len(group.node_labels) > KUEUE_MAX_NODE_LABELS:
            yield Problem(path_join(base, "node_labels"), group.node_labels,
                          f"a Kueue ResourceFlavor takes at most {KUEUE_MAX_NODE_LABELS} node labels "
                          f"(got {len(group.node_labels)})")

    yield from check_quota_clusters(env)
    yield from check_queue_names(env)

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
                if quota_cluster(team, quota) != cluster.name:
                    continue
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
                if flavor is not None and flavor.pools:
                    # cpu and memory a quota leaves out are filled in from its GPU share; they count too.
                    filled = host_share(quota, flavor).resources
                    for resource in sorted(set(filled) - set(quota.resources)):
                        nominal[(flavor.name, resource)] += parse_quantity(filled[resource])
                        where[(flavor.name, resource)].append(path_join(qbase, "resources"))
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
                    + (f", counting the {resource} filled in for quotas that leave it out (their share of the "
                       "flavor's GPUs)" if resource in HOST_RESOURCES else "")
                    + ("; allowed by scheduling.overcommit" if overcommit else
                       "; lower the quotas, raise max_nodes, or set scheduling.overcommit for autoscaling beyond"),
                    severity="warning" if overcommit else "error",
                )


def check_quota_clusters(env: EnvironmentSpec) -> Iterator[Problem]:
    """Each quota entry belongs to one of its team's clusters; a team on several clusters says which."""
    for i, team in enumerate(env.scheduling.teams):
        clusters = team.cluster_names
        for j, quota in enumerate(team.quotas):
            path = path_join("scheduling", "teams", i, "quotas", j, "cluster")
            if quota.cluster is None and len(clusters) > 1:
                yield Problem(path, None, f"team {team.name} is on clusters {', '.join(clusters)}: say which "
                              "cluster this quota is for (its flavor is a pool or flavor of that cluster)")
            elif quota.cluster is not None and clusters and quota.cluster not in clusters:
                yield Problem(path, quota.cluster, f"not a cluster of team {team.name}; its clusters: "
                              f"{', '.join(clusters)} (add the cluster to the team's clusters first)")


def check_queue_names(env: EnvironmentSpec) -> Iterator[Problem]:
    """On Kueue each team has a ClusterQueue per GPU class (`<team>` or `<team>-<class>`): they must not collide."""
    team_index = {id(t): i for i, t in enumerate(env.scheduling.teams)}
    for cluster in env.clusters:
        if cluster.scheduler != "kueue":
            continue
        pools = resolve_cluster_pools(cluster)
        flavors = cluster_flavors(env, cluster, pools)
        owner: dict[str, str] = {}
        for team in cluster_teams(env, cluster.name):
            i = team_index[id(team)]
            quotas = quotas_on(team, cluster.name)
            # A team without quotas there gets a share of every pool, so a queue of every class.
            classes = {q.gpu_class for q in split_by_class(team, quotas, flavors)} if quotas else {
                gpu_class(p) for p in pools}
            for name in sorted(queue_name(team, c) for c in classes):
                other = owner.setdefault(name, team.name)
                if other != team.name:
                    yield Problem(path_join("scheduling", "teams", i, "name"), team.name,
                                  f"its queue {name} on cluster {cluster.name} has the name of a queue of team "
                                  f"{other}; rename one of the teams")


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
