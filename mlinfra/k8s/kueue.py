"""Kueue: the controller (Helm, pinned) and, from the spec, flavors, cohorts, cluster queues and team queues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import yaml

from mlinfra.catalog import versions
from mlinfra.k8s import teams as team_ns
from mlinfra.k8s.helm import pinned_release, release_namespace
from mlinfra.k8s.scheduling_model import Flavor, cluster_flavors, cluster_teams, team_queues, team_quotas
from mlinfra.k8s.teams import object_role, register_custom, register_namespaced
from mlinfra.spec.scheduling import QuotaSpec, SchedulingSpec, TeamSpec, quantity_text

if TYPE_CHECKING:
    from mlinfra.context import ClusterContext
    from mlinfra.spec.clusters import ClusterSpec
    from mlinfra.spec.environment import EnvironmentSpec
    from mlinfra.spec.resolve import ResolvedPool

API = "kueue.x-k8s.io/v1beta2"
NAMESPACE = "kueue-system"
# The port the manager's webhook server binds (the chart's default Configuration and webhookService targetPort,
# kueue v0.19.2 charts/kueue/values.yaml). The API server calls it on the pod, so a private GKE control plane
# needs a firewall rule to it (mlinfra.k8s.control_plane_ports).
WEBHOOK_PORT = 9443
# The port the manager's visibility server binds: the chart always registers the APIServices
# v1beta1/v1beta2.visibility.kueue.x-k8s.io on the `kueue-visibility-server` Service, whose targetPort is this
# (kueue v0.19.2 charts/kueue/templates/visibility/service.yaml and manager.yaml containerPort `visibility`;
# apis/config/v1beta2/defaults.go DefaultVisibilityBindPort). The API server proxies that aggregated API to the
# pod, so a private GKE control plane needs the firewall to open it too; an unreachable APIService breaks API
# discovery for every client and blocks namespace deletion.
VISIBILITY_PORT = 8082

# The job kinds ML teams submit: batch Jobs, JobSets, the Kubeflow training operators (v1 and Trainer v2),
# MPI, and Ray. `pod` is opt-in (scheduling.plain_pods) because gating bare pods surprises people.
FRAMEWORKS = (
    "batch/job",
    "jobset.x-k8s.io/jobset",
    "kubeflow.org/pytorchjob",
    "kubeflow.org/tfjob",
    "kubeflow.org/mpijob",
    "kubeflow.org/xgboostjob",
    "kubeflow.org/paddlejob",
    "kubeflow.org/jaxjob",
    "trainer.kubeflow.org/trainjob",
    "ray.io/rayjob",
    "ray.io/raycluster",
)


def controller_config(spec: SchedulingSpec) -> dict[str, Any]:
    """The controller's `config.kueue.x-k8s.io/v1beta2` Configuration (the chart's manager ConfigMap)."""
    frameworks = list(FRAMEWORKS) + (["pod"] if spec.plain_pods else [])
    config: dict[str, Any] = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": WEBHOOK_PORT},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "controller": {
            "groupKindConcurrency": {
                "Job.batch": 5,
                "Pod": 5,
                "Workload.kueue.x-k8s.io": 10,
                "LocalQueue.kueue.x-k8s.io": 5,
                "Cohort.kueue.x-k8s.io": 1,
                "ClusterQueue.kueue.x-k8s.io": 5,
                "ResourceFlavor.kueue.x-k8s.io": 1,
            }
        },
        "clientConnection": {"qps": 300, "burst": 500},
        # Jobs without a queue label run unmanaged; only team namespaces are managed at all.
        "manageJobsWithoutQueueName": False,
        "managedJobsNamespaceSelector": {"matchLabels": {team_ns.LABEL_QUEUED: "true"}},
        "integrations": {"frameworks": frameworks},
    }
    if spec.fair_sharing:
        config["fairSharing"] = {"preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]}
    return config


def helm_values(spec: SchedulingSpec, monitoring_namespace: str | None) -> dict[str, Any]:
    """Chart values: the release image (the chart at its tag names a staging one), the config, metrics."""
    repository, tag = versions.IMAGES["kueue"].rsplit(":", 1)
    values: dict[str, Any] = {
        "controllerManager": {
            "manager": {"image": {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"}},
            "replicas": 2,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        },
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(controller_config(spec), sort_keys=False)},
    }
    if monitoring_namespace is not None:
        # The chart then creates a ServiceMonitor and lets Prometheus in that namespace read the metrics.
        values["enablePrometheus"] = True
        values["metrics"] = {"prometheusNamespace": monitoring_namespace}
    return values


def resource_flavor(flavor: Flavor) -> dict[str, Any]:
    """A ResourceFlavor whose nodeLabels select the flavor's pools and whose tolerations match their taints."""
    spec: dict[str, Any] = {"nodeLabels": dict(sorted(flavor.node_labels.items()))}
    if flavor.tolerations:
        spec["tolerations"] = flavor.tolerations
    return {"apiVersion": API, "kind": "ResourceFlavor", "metadata": {"name": flavor.name}, "spec": spec}


def _resource_order(quotas: list[QuotaSpec]) -> list[str]:
    # cpu and memory first, then the GPU resources, so every ClusterQueue reads the same way.
    names = {r for q in quotas for r in q.resources}
    head = [r for r in ("cpu", "memory") if r in names]
    return head + sorted(names - set(head))


def cluster_queue(team: TeamSpec, quotas: list[QuotaSpec], name: str | None = None) -> dict[str, Any]:
    """A team's ClusterQueue (`name`, default the team name): one resource group over its flavors (in quota
    order), limits, preemption. Give it the flavors of one GPU class (`scheduling_model.team_queues`)."""
    covered = _resource_order(quotas)
    flavors = []
    for quota in quotas:
        resources = []
        for resource in covered:
            entry: dict[str, Any] = {
                "name": resource, "nominalQuota": quantity_text(quota.resources.get(resource, 0))
            }
            if resource in quota.borrowing_limit:
                entry["borrowingLimit"] = quantity_text(quota.borrowing_limit[resource])
            if resource in quota.lending_limit:
                entry["lendingLimit"] = quantity_text(quota.lending_limit[resource])
            resources.append(entry)
        flavors.append({"name": quota.flavor, "resources": resources})
    p = team.preemption
    borrow: dict[str, Any] = {"policy": p.borrow_within_cohort}
    if p.borrow_max_priority_threshold is not None:
        borrow["maxPriorityThreshold"] = p.borrow_max_priority_threshold
    spec: dict[str, Any] = {
        # Only the team's own namespace may submit to its queue.
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team.namespace_name}},
        "queueingStrategy": team.queueing_strategy,
        "resourceGroups": [{"coveredResources": covered, "flavors": flavors}] if quotas else [],
        "preemption": {
            "withinClusterQueue": p.within_cluster_queue,
            "reclaimWithinCohort": p.reclaim_within_cohort,
            "borrowWithinCohort": borrow,
        },
        "flavorFungibility": {
            "whenCanBorrow": team.flavor_fungibility.when_can_borrow,
            "whenCanPreempt": team.flavor_fungibility.when_can_preempt,
        },
    }
    if team.cohort:
        spec["cohortName"] = team.cohort
    if team.fair_sharing_weight is not None:
        spec["fairSharing"] = {"weight": quantity_text(team.fair_sharing_weight)}
    return {"apiVersion": API, "kind": "ClusterQueue", "metadata": {"name": name or team.name}, "spec": spec}


def local_queue(team: TeamSpec, name: str | None = None) -> dict[str, Any]:
    """The LocalQueue workloads name with `kueue.x-k8s.io/queue-name`, pointing at the ClusterQueue of the
    same name (`name`, default the team name)."""
    return {
        "apiVersion": API,
        "kind": "LocalQueue",
        "metadata": {"name": name or team.name, "namespace": team.namespace_name},
        "spec": {"clusterQueue": name or team.name},
    }


def cohorts(env: EnvironmentSpec, cluster: str) -> list[dict[str, Any]]:
    """Cohort objects of a cluster: those the spec declares there and every one its teams or cohorts name."""
    declared = {c.name: c for c in env.scheduling.cohorts if c.cluster == cluster}
    names = set(declared)
    names |= {t.cohort for t in cluster_teams(env, cluster) if t.cohort}
    names |= {c.parent for c in declared.values() if c.parent}
    out = []
    for name in sorted(names):
        spec: dict[str, Any] = {}
        c = declared.get(name)
        if c is not None and c.parent:
            spec["parentName"] = c.parent
        if c is not None and c.fair_sharing_weight is not None:
            spec["fairSharing"] = {"weight": quantity_text(c.fair_sharing_weight)}
        out.append({"apiVersion": API, "kind": "Cohort", "metadata": {"name": name}, "spec": spec})
    return out


def workload_priority_classes(spec: SchedulingSpec) -> list[dict[str, Any]]:
    """WorkloadPriorityClasses (value and description sit at the top level; there is no spec)."""
    out = []
    for pc in spec.priority_classes:
        obj: dict[str, Any] = {
            "apiVersion": API,
            "kind": "WorkloadPriorityClass",
            "metadata": {"name": pc.name},
            "value": pc.value,
        }
        if pc.description:
            obj["description"] = pc.description
        out.append(obj)
    return out


@dataclass(frozen=True)
class KueuePlan:
    """Everything Kueue needs on one cluster, decided from the spec (no Pulumi)."""

    values: dict[str, Any]
    flavors: list[dict[str, Any]]
    cohorts: list[dict[str, Any]]
    cluster_queues: list[dict[str, Any]]
    priority_classes: list[dict[str, Any]]
    team_objects: list[dict[str, Any]]  # namespaces, ResourceQuotas, LimitRanges (built-in kinds)
    local_queues: list[dict[str, Any]]

    def custom_objects(self) -> list[dict[str, Any]]:
        """Every Kueue custom resource, in creation order."""
        return [*self.flavors, *self.cohorts, *self.cluster_queues, *self.priority_classes, *self.local_queues]


def plan(
    env: EnvironmentSpec, cluster: ClusterSpec, pools: list[ResolvedPool], monitoring_namespace: str | None = None
) -> KueuePlan:
    """Kueue's values and objects for one cluster of a checked spec."""
    flavors = cluster_flavors(env, cluster, pools)
    quotas = team_quotas(env, cluster, pools)
    queues = team_queues(env, cluster, pools)
    teams = cluster_teams(env, cluster.name)
    used = {q.flavor for t in teams for q in quotas[t.name]}
    # Per-pool flavors always exist so teams can add a pool later without a new flavor; group flavors only
    # when some team uses them (an unused group is noise).
    wanted = [f for f in flavors.values() if f.own]
    wanted += [f for f in flavors.values() if not f.own and f.name in used]
    return KueuePlan(
        values=helm_values(env.scheduling, monitoring_namespace),
        flavors=[resource_flavor(f) for f in wanted],
        cohorts=cohorts(env, cluster.name),
        cluster_queues=[cluster_queue(t, list(q.quotas), q.name) for t in teams for q in queues[t.name]],
        priority_classes=workload_priority_classes(env.scheduling),
        team_objects=[o for t in teams for o in team_ns.team_objects(t, quotas[t.name], flavors)],
        local_queues=[local_queue(t, q.name) for t in teams for q in queues[t.name]],
    )


@dataclass
class KueueArgs:
    """Inputs of `Kueue`: Helm values and the manifests to create, usually from `plan`."""

    values: pulumi.Input[dict[str, Any]]
    custom_objects: list[dict[str, Any]] = field(default_factory=list)
    builtin_objects: list[dict[str, Any]] = field(default_factory=list)
    chart: versions.ChartPin = versions.KUEUE


class Kueue(pulumi.ComponentResource):
    """Kueue on one cluster: the pinned Helm release, then flavors, cohorts, queues and team namespaces.

    Custom resources wait for the release (its CRDs and webhooks); namespaced objects wait for their
    namespace. `queues` maps each team namespace to its LocalQueue names (one per GPU class).
    """

    release: pulumi.Resource
    queues: dict[str, list[str]]

    def __init__(self, name: str, args: KueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:kueue:Kueue", name, None, opts)
        # The controller's pods meet baseline; warn/audit at restricted show what else would be needed.
        namespace = release_namespace(f"{name}-namespace", NAMESPACE, "baseline", self)
        self.release = pinned_release(
            f"{name}-release", "kueue", args.chart, NAMESPACE, args.values,
            pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
        )
        namespaces = register_namespaced(self, name, args.builtin_objects)
        # Team namespaces by name, for add-ons that put objects in them (Fluid's team datasets).
        self.namespaces: dict[str, pulumi.Resource] = dict(namespaces)
        self.queues = {}
        for obj in args.custom_objects:
            ns = obj["metadata"].get("namespace")
            deps = [self.release, *([namespaces[ns]] if ns in namespaces else [])]
            register_custom(f"{name}-{object_role(obj)}", obj, pulumi.ResourceOptions(parent=self, depends_on=deps))
            if obj["kind"] == "LocalQueue":
                self.queues.setdefault(ns, []).append(obj["metadata"]["name"])
        self.register_outputs({"queues": self.queues})


def kueue_addon(ctx: ClusterContext) -> pulumi.ComponentResource:
    """Kueue for a cluster whose scheduler is `kueue`."""
    from mlinfra.k8s.monitoring import NAMESPACE as MONITORING_NAMESPACE

    monitoring = ctx.addons.get("monitoring")
    # The monitoring add-on's namespace is an Output; its fixed name is what the chart's RBAC needs.
    monitoring_ns = MONITORING_NAMESPACE if monitoring is not None else None
    p = plan(ctx.env, ctx.cluster, ctx.pools, monitoring_ns)
    return Kueue(
        f"{ctx.name}-kueue",
        KueueArgs(values=p.values, custom_objects=p.custom_objects(), builtin_objects=p.team_objects),
        # With monitoring the chart renders a ServiceMonitor: its CRD comes with the kube-prometheus-stack
        # release, which is all Kueue waits for.
        ctx.child_opts(getattr(monitoring, "stack", monitoring) if monitoring is not None else None),
    )
