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
from mlinfra.k8s.scheduling import cluster_flavors, cluster_teams, queue_name, team_quotas
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


def _fmt(resource: str, value: Decimal) -> int | str:
    return team_ns._format(resource, value)


def _sum(quotas: list[QuotaSpec], part: str) -> dict[str, Decimal]:
    total: defaultdict[str, Decimal] = defaultdict(Decimal)
    for quota in quotas:
        for resource, value in getattr(quota, part).items():
            total[resource] += parse_quantity(value)
    return dict(total)


def team_queue(team: TeamSpec, quotas: list[QuotaSpec]) -> dict[str, Any]:
    """A team's Queue. Volcano has no flavors, so the team's quotas add up over its flavors:

    deserved = nominal; guarantee = nominal minus what may be lent; capability = nominal plus the borrowing
    limit (only when every resource has one, or without a cohort where nothing can be borrowed).
    """
    nominal = _sum(quotas, "resources")
    lend = _sum(quotas, "lending_limit")
    borrow = _sum(quotas, "borrowing_limit")
    spec: dict[str, Any] = {
        "weight": int(parse_quantity(team.fair_sharing_weight)) if team.fair_sharing_weight is not None else 1,
        "reclaimable": True,
        "deserved": {r: _fmt(r, v) for r, v in sorted(nominal.items())},
    }
    if team.cohort is None:
        spec["capability"] = dict(spec["deserved"])
    elif borrow and set(borrow) >= set(nominal):
        spec["capability"] = {r: _fmt(r, nominal[r] + borrow[r]) for r in sorted(nominal)}
    if lend:
        kept = {r: _fmt(r, nominal[r] - lend.get(r, Decimal(0))) for r in sorted(nominal)}
        spec["guarantee"] = {"resource": kept}
    if team.cohort:
        spec["parent"] = team.cohort
    return {"apiVersion": API, "kind": "Queue", "metadata": {"name": queue_name(team)}, "spec": spec}


def cohort_queues(env: EnvironmentSpec, cluster: str) -> list[dict[str, Any]]:
    """Parent queues standing for cohorts (hierarchical queues under `root`)."""
    declared = {c.name: c for c in env.scheduling.cohorts if c.cluster == cluster}
    names = {t.cohort for t in cluster_teams(env, cluster) if t.cohort} | set(declared)
    names |= {c.parent for c in declared.values() if c.parent}
    out = []
    for name in sorted(n for n in names if n):
        c = declared.get(name)
        weight = int(parse_quantity(c.fair_sharing_weight)) if c and c.fair_sharing_weight is not None else 1
        spec = {"weight": weight, "reclaimable": True, "parent": (c.parent if c and c.parent else ROOT_QUEUE)}
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
        queues=[*cohort_queues(env, cluster.name), *(team_queue(t, quotas[t.name]) for t in teams)],
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
        register_namespaced(self, name, args.builtin_objects)
        self.queues = {}
        # Parents first (the list is ordered so), each queue waits for the release's CRDs and webhooks.
        for obj in args.queues:
            register_custom(
                f"{name}-{object_role(obj)}", obj, pulumi.ResourceOptions(parent=self, depends_on=[self.release])
            )
            self.queues[obj["metadata"]["name"]] = obj["metadata"]["name"]
        self.register_outputs({"queues": self.queues})


def volcano_addon(ctx: ClusterContext) -> pulumi.ComponentResource:
    """Volcano for a cluster whose scheduler is `volcano`."""
    p = plan(ctx.env, ctx.cluster, ctx.pools)
    return Volcano(
        f"{ctx.name}-volcano",
        VolcanoArgs(values=p.values, queues=p.queues, builtin_objects=p.builtin_objects),
        ctx.child_opts(ctx.addons.get("monitoring")),
    )
