"""Team namespaces: Pod Security, a ResourceQuota backstop and container defaults, for Kueue and Volcano alike."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pulumi

from mlinfra.k8s import namespaces
from mlinfra.k8s.scheduling_model import Flavor, format_quantity
from mlinfra.spec.scheduling import QuotaSpec, TeamSpec, parse_quantity, quantity_text

LABEL_TEAM = "mlinfra.io/team"
# Kueue manages only namespaces carrying this label (managedJobsNamespaceSelector), so system namespaces
# never get their pods gated.
LABEL_QUEUED = "mlinfra.io/queued"


def namespace(team: TeamSpec) -> dict[str, Any]:
    """The team's Namespace with Pod Security enforced (restricted unless the team asked for baseline)."""
    return namespaces.namespace_manifest(
        team.namespace_name, team.pod_security, {LABEL_TEAM: team.name, LABEL_QUEUED: "true"}
    )


def team_ceiling(team: TeamSpec, quotas: list[QuotaSpec], flavors: dict[str, Flavor]) -> dict[str, Decimal]:
    """The most a team's queue can ever admit per resource: nominal plus borrowing, bounded by the flavors.

    Without a cohort that is the nominal quota; in a cohort without a borrowing limit it is the flavor's
    whole capacity.
    """
    total: defaultdict[str, Decimal] = defaultdict(Decimal)
    for quota in quotas:
        flavor = flavors.get(quota.flavor)
        capacity = flavor.capacity() if flavor else {}
        for resource, value in quota.resources.items():
            nominal = parse_quantity(value)
            if team.cohort is None:
                most = nominal
            elif resource in quota.borrowing_limit:
                most = nominal + parse_quantity(quota.borrowing_limit[resource])
            else:
                most = max(capacity.get(resource, nominal), nominal)
            total[resource] += most
    return dict(total)


def resource_quota(team: TeamSpec, quotas: list[QuotaSpec], flavors: dict[str, Flavor]) -> dict[str, Any]:
    """A ResourceQuota that caps the namespace at what its queue could admit.

    It is a backstop for pods that skip the queue; the queue itself is the real quota.
    """
    hard = {f"requests.{r}": format_quantity(r, v) for r, v in sorted(team_ceiling(team, quotas, flavors).items())}
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {
            "name": f"{team.name}-ceiling",
            "namespace": team.namespace_name,
            "labels": {LABEL_TEAM: team.name},
        },
        "spec": {"hard": hard},
    }


def limit_range(team: TeamSpec) -> dict[str, Any]:
    """Container defaults, so pods without requests still count against the quota and get scheduled sensibly."""
    cpu, memory = quantity_text(team.default_container_cpu), quantity_text(team.default_container_memory)
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {
            "name": f"{team.name}-defaults",
            "namespace": team.namespace_name,
            "labels": {LABEL_TEAM: team.name},
        },
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {"cpu": cpu, "memory": memory},
                    # A memory limit keeps one container from starving the node; cpu stays unlimited (burst).
                    "default": {"memory": memory},
                }
            ]
        },
    }


def team_objects(team: TeamSpec, quotas: list[QuotaSpec], flavors: dict[str, Flavor]) -> list[dict[str, Any]]:
    """Namespace, ResourceQuota and LimitRange of one team."""
    return [namespace(team), resource_quota(team, quotas, flavors), limit_range(team)]


def register_builtin(name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register a built-in Kubernetes object (from a manifest dict) with its typed pulumi_kubernetes class."""
    kind = obj["kind"]
    if kind == "Namespace":
        from pulumi_kubernetes.core.v1 import Namespace

        return Namespace(name, metadata=obj["metadata"], opts=opts)
    if kind == "ResourceQuota":
        from pulumi_kubernetes.core.v1 import ResourceQuota

        return ResourceQuota(name, metadata=obj["metadata"], spec=obj["spec"], opts=opts)
    if kind == "LimitRange":
        from pulumi_kubernetes.core.v1 import LimitRange

        return LimitRange(name, metadata=obj["metadata"], spec=obj["spec"], opts=opts)
    if kind == "PriorityClass":
        from pulumi_kubernetes.scheduling.v1 import PriorityClass

        return PriorityClass(
            name,
            metadata=obj["metadata"],
            value=obj["value"],
            description=obj.get("description"),
            preemption_policy=obj.get("preemptionPolicy"),
            global_default=obj.get("globalDefault"),
            opts=opts,
        )
    raise ValueError(f"register_builtin: no typed class for kind {kind!r}")


def object_role(obj: dict[str, Any]) -> str:
    """The child-resource role of a manifest: `<kind>-[<namespace>-]<name>`, stable and unique per cluster."""
    meta = obj["metadata"]
    ns = f"{meta['namespace']}-" if meta.get("namespace") else ""
    return f"{obj['kind'].lower()}-{ns}{meta['name']}"


def register_custom(name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register a custom resource from a manifest dict, including kinds without `spec` (WorkloadPriorityClass)."""
    from pulumi_kubernetes.apiextensions import CustomResource

    if set(obj) <= {"apiVersion", "kind", "metadata", "spec"}:
        return CustomResource(
            name,
            api_version=obj["apiVersion"],
            kind=obj["kind"],
            metadata=obj["metadata"],
            spec=obj.get("spec"),
            opts=opts,
        )
    return TopLevelCustomResource(name, obj, opts)


def register_namespaced(parent: pulumi.Resource, name: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Register built-in objects as children of `parent`; namespaced ones wait for their Namespace.

    Returns the registered Namespaces by name, so custom resources in them can wait too.
    """
    namespaces: dict[str, Any] = {}
    for obj in objects:
        ns = obj["metadata"].get("namespace")
        deps = [namespaces[ns]] if ns in namespaces else []
        res = register_builtin(
            f"{name}-{object_role(obj)}", obj, pulumi.ResourceOptions(parent=parent, depends_on=deps)
        )
        if obj["kind"] == "Namespace":
            namespaces[obj["metadata"]["name"]] = res
    return namespaces


class TopLevelCustomResource(pulumi.CustomResource):
    """A custom resource whose fields sit beside `metadata` rather than under `spec` (WorkloadPriorityClass).

    `apiextensions.CustomResource` only carries `spec`, so these kinds register their manifest as is.
    """

    def __init__(self, resource_name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions):
        super().__init__(f"kubernetes:{obj['apiVersion']}:{obj['kind']}", resource_name, dict(obj), opts)
