"""Volcano: the scheduler (Helm, pinned) with gang scheduling, preemption and reclaim, plus team queues."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pulumi
import yaml

from mlinfra.catalog import versions
from mlinfra.k8s import teams as team_ns
from mlinfra.k8s.helm import pinned_release, release_namespace
from mlinfra.k8s.scheduling_model import cluster_flavors, cluster_teams, format_quantity, queue_name, team_quotas
from mlinfra.k8s.teams import object_role, register_custom, register_namespaced
from mlinfra.spec.scheduling import QuotaSpec, SchedulingSpec, TeamSpec, parse_quantity

if TYPE_CHECKING:
    from mlinfra.context import ClusterContext
    from mlinfra.spec.clusters import ClusterSpec
    from mlinfra.spec.environment import EnvironmentSpec
    from mlinfra.spec.resolve import ResolvedPool

API = "scheduling.volcano.sh/v1beta1"
NAMESPACE = "volcano-system"
# The admission webhook's port (`basic.admission_port`, volcano v1.15.1 installer/helm/chart/volcano/values.yaml),
# set explicitly so the GKE control-plane firewall rule follows the value the chart gets.
ADMISSION_PORT = 8443
ROOT_QUEUE = "root"
# Volcano creates these queues itself; a team or cohort queue of the same name would fight them.
RESERVED_QUEUES = frozenset({"root", "default"})


def scheduler_conf(hierarchical: bool) -> dict[str, Any]:
    """The scheduler configuration: the default plugins plus the preempt and reclaim actions.

    `gang` admits a job only when all its pods fit; `preempt` evicts lower-priority work inside a queue and
    `reclaim` takes back what other queues borrowed beyond their share. The `capacity` plugin (instead of the
    default `proportion`) honours each queue's deserved/capability/guarantee and, with hierarchy on, the
    parent queues that stand for cohorts.
    """
    capacity: dict[str, Any] = {"name": "capacity"}
    if hierarchical:
        capacity["enableHierarchy"] = True
    return {
        "actions": "enqueue, allocate, preempt, reclaim, backfill",
        "tiers": [
            {"plugins": [{"name": "priority"}, {"name": "gang", "enablePreemptable": False}, {"name": "conformance"}]},
            {
                "plugins": [
                    {"name": "overcommit"},
                    {"name": "drf", "enablePreemptable": False},
                    {"name": "predicates"},
                    capacity,
                    {"name": "nodeorder"},
                    {"name": "binpack"},
                ]
            },
        ],
    }


def helm_values(env: EnvironmentSpec, cluster: str) -> dict[str, Any]:
    """Chart values: the custom scheduler conf (the chart's `custom.scheduler_config_override`), pinned pulls."""
    hierarchical = any(t.cohort for t in cluster_teams(env, cluster))
    return {
        "basic": {
            "image_tag_version": f"v{versions.VOLCANO.app_version}",
            "image_pull_policy": "IfNotPresent",
            "admission_port": ADMISSION_PORT,
        },
        "custom": {
            "scheduler_config_override": yaml.safe_dump(scheduler_conf(hierarchical), sort_keys=False),
            "leader_elect_enable": True,
        },
    }


def _resources(totals: dict[str, Decimal]) -> dict[str, int | str]:
    return {r: format_quantity(r, v) for r, v in sorted(totals.items())}


def _add(into: defaultdict[str, Decimal], part: dict[str, Decimal]) -> None:
    for resource, value in part.items():
        into[resource] += value


def queue_resources(team: TeamSpec, quotas: list[QuotaSpec]) -> dict[str, dict[str, Decimal]]:
    """A team's quotas over all its flavors as Volcano sees them (it has no flavors), per resource:

    `deserved` = the nominal quotas added up. `guarantee` = what the team keeps when it lends: per quota entry,
    nominal minus the lending limit, for the resources that have one (Kueue's default lending limit is all
    of it, so a resource without one keeps nothing). `capability` = nominal plus the borrowing limit, for each
    resource whose every entry has a limit; a resource some entry leaves unlimited gets no cap. Without a
    cohort nothing is borrowed: capability is the nominal quota.
    """
    deserved: defaultdict[str, Decimal] = defaultdict(Decimal)
    guarantee: defaultdict[str, Decimal] = defaultdict(Decimal)
    capped: defaultdict[str, Decimal] = defaultdict(Decimal)
    unlimited: set[str] = set()
    for quota in quotas:
        for resource, value in quota.resources.items():
            nominal = parse_quantity(value)
            deserved[resource] += nominal
            if resource in quota.lending_limit:
                guarantee[resource] += nominal - parse_quantity(quota.lending_limit[resource])
            if resource in quota.borrowing_limit:
                capped[resource] += nominal + parse_quantity(quota.borrowing_limit[resource])
            else:
                unlimited.add(resource)
    capability = dict(deserved) if team.cohort is None else {r: v for r, v in capped.items() if r not in unlimited}
    return {
        "deserved": dict(deserved),
        "guarantee": {r: v for r, v in guarantee.items() if v > 0},
        "capability": capability,
    }


def team_queue(team: TeamSpec, quotas: list[QuotaSpec]) -> dict[str, Any]:
    """A team's Queue: deserved, guarantee and capability from `queue_resources`, under its cohort's queue."""
    parts = queue_resources(team, quotas)
    spec: dict[str, Any] = {
        "weight": int(parse_quantity(team.fair_sharing_weight)) if team.fair_sharing_weight is not None else 1,
        "reclaimable": True,
        "deserved": _resources(parts["deserved"]),
    }
    if parts["capability"]:
        spec["capability"] = _resources(parts["capability"])
    if parts["guarantee"]:
        spec["guarantee"] = {"resource": _resources(parts["guarantee"])}
    if team.cohort:
        spec["parent"] = team.cohort
    return {"apiVersion": API, "kind": "Queue", "metadata": {"name": queue_name(team)}, "spec": spec}


def cohort_queues(
    env: EnvironmentSpec, cluster: str, quotas: dict[str, list[QuotaSpec]] | None = None
) -> list[dict[str, Any]]:
    """Parent queues standing for cohorts (hierarchical queues under `root`), parents before children.

    Volcano's queue webhook requires the children's `deserved` and `guarantee` to add up to no more than the
    parent's, per resource, and reads a parent that sets none as zero, refusing every child that sets one
    (volcano-sh/volcano@v1.15.1 pkg/webhooks/admission/queues/validate/validate_queue.go
    `validateSiblingsSum`; volcano#5634). So each cohort queue carries the sums of its children, teams and
    nested cohorts, recursively. Children of `root` are not checked against it (the same file,
    `validateHierarchicalQueueResources`), and the capacity plugin sets root's own deserved and guarantee to
    its children's sums (pkg/scheduler/plugins/capacity/capacity.go `checkHierarchicalQueue`), so the root
    queue is left as Volcano makes it.
    """
    declared = {c.name: c for c in env.scheduling.cohorts if c.cluster == cluster}
    teams = cluster_teams(env, cluster)
    names = {t.cohort for t in teams if t.cohort} | set(declared)
    names |= {c.parent for c in declared.values() if c.parent}
    parent_of = {n: (declared[n].parent if n in declared and declared[n].parent else ROOT_QUEUE) for n in names}
    own: dict[str, dict[str, dict[str, Decimal]]] = {}
    for team in teams:
        if team.cohort and quotas is not None:
            own[team.name] = queue_resources(team, quotas.get(team.name, []))
    totals: dict[str, dict[str, defaultdict[str, Decimal]]] = {
        n: {"deserved": defaultdict(Decimal), "guarantee": defaultdict(Decimal)} for n in names
    }
    for team in teams:
        if team.cohort and team.name in own:
            node: str | None = team.cohort
            seen: set[str] = set()
            while node is not None and node != ROOT_QUEUE and node not in seen:
                seen.add(node)
                for part in ("deserved", "guarantee"):
                    _add(totals[node][part], own[team.name][part])
                node = parent_of.get(node)

    def depth(name: str) -> int:
        d, node, seen = 0, name, set()
        while node != ROOT_QUEUE and node not in seen:
            seen.add(node)
            d, node = d + 1, parent_of.get(node) or ROOT_QUEUE
        return d

    out = []
    for name in sorted(names, key=lambda n: (depth(n), n)):
        c = declared.get(name)
        weight = int(parse_quantity(c.fair_sharing_weight)) if c and c.fair_sharing_weight is not None else 1
        spec: dict[str, Any] = {"weight": weight, "reclaimable": True, "parent": parent_of[name]}
        if totals[name]["deserved"]:
            spec["deserved"] = _resources(totals[name]["deserved"])
        if totals[name]["guarantee"]:
            spec["guarantee"] = {"resource": _resources(totals[name]["guarantee"])}
        out.append({"apiVersion": API, "kind": "Queue", "metadata": {"name": name}, "spec": spec})
    return out


def priority_classes(spec: SchedulingSpec) -> list[dict[str, Any]]:
    """Kubernetes PriorityClasses (Volcano's priority, preempt and gang plugins read pod priority)."""
    out = []
    for pc in spec.priority_classes:
        obj: dict[str, Any] = {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": pc.name},
            "value": pc.value,
            "preemptionPolicy": "PreemptLowerPriority",
            "globalDefault": False,
        }
        if pc.description:
            obj["description"] = pc.description
        out.append(obj)
    return out


@dataclass(frozen=True)
class VolcanoPlan:
    """Everything Volcano needs on one cluster, decided from the spec (no Pulumi)."""

    values: dict[str, Any]
    queues: list[dict[str, Any]]
    builtin_objects: list[dict[str, Any]]  # PriorityClasses, team namespaces, ResourceQuotas, LimitRanges


def plan(env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool]) -> VolcanoPlan:
    """Volcano's values and objects for one cluster of a checked spec."""
    flavors = cluster_flavors(env, cluster, pools)
    quotas = team_quotas(env, cluster, pools)
    teams = cluster_teams(env, cluster.name)
    return VolcanoPlan(
        values=helm_values(env, cluster.name),
        queues=[*cohort_queues(env, cluster.name, quotas), *(team_queue(t, quotas[t.name]) for t in teams)],
        builtin_objects=[
            *priority_classes(env.scheduling),
            *(o for t in teams for o in team_ns.team_objects(t, quotas[t.name], flavors)),
        ],
    )


@dataclass
class VolcanoArgs:
    """Inputs of `Volcano`: Helm values and the manifests to create, usually from `plan`."""

    values: pulumi.Input[dict[str, Any]]
    queues: list[dict[str, Any]] = field(default_factory=list)
    builtin_objects: list[dict[str, Any]] = field(default_factory=list)
    chart: versions.ChartPin = versions.VOLCANO


class Volcano(pulumi.ComponentResource):
    """Volcano on one cluster: the pinned Helm release, priority classes, team namespaces and queues.

    `queues` maps each queue name to itself, for team stacks that read queue names from outputs.
    """

    release: pulumi.Resource
    queues: dict[str, str]

    def __init__(self, name: str, args: VolcanoArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:volcano:Volcano", name, None, opts)
        # The scheduler, controllers and admission webhook meet baseline.
        namespace = release_namespace(f"{name}-namespace", NAMESPACE, "baseline", self)
        self.release = pinned_release(
            f"{name}-release", "volcano", args.chart, NAMESPACE, args.values,
            pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        # Team namespaces by name, for add-ons that put objects in them (Fluid's team datasets).
        self.namespaces: dict[str, pulumi.Resource] = dict(register_namespaced(self, name, args.builtin_objects))
        self.queues = {}
        # Parents first (the list is ordered so). Each queue waits for the release's CRDs and webhooks and for
        # its parent queue: the webhook looks the parent up and refuses a child whose parent does not exist yet
        # (volcano-sh/volcano@v1.15.1 pkg/webhooks/admission/queues/validate/validate_queue.go).
        created: dict[str, pulumi.Resource] = {}
        for obj in args.queues:
            parent = obj.get("spec", {}).get("parent")
            deps = [self.release, *([created[parent]] if parent in created else [])]
            created[obj["metadata"]["name"]] = register_custom(
                f"{name}-{object_role(obj)}", obj, pulumi.ResourceOptions(parent=self, depends_on=deps)
            )
            self.queues[obj["metadata"]["name"]] = obj["metadata"]["name"]
        self.register_outputs({"queues": self.queues})


def volcano_addon(ctx: ClusterContext) -> pulumi.ComponentResource:
    """Volcano for a cluster whose scheduler is `volcano`."""
    p = plan(ctx.env, ctx.cluster, ctx.pools)
    return Volcano(
        f"{ctx.name}-volcano",
        VolcanoArgs(values=p.values, queues=p.queues, builtin_objects=p.builtin_objects),
        # Volcano's chart renders no ServiceMonitor here, so it waits for no other add-on.
        ctx.child_opts(),
    )
