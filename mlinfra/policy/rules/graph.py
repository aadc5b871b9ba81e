"""Dependency-graph rules: what `pulumi up` must wait for (CRDs, IAM grants), and what it must never wait for.

They read the `dependencies`, `parent` and `provider` of every record (see `mlinfra.offline.graph`), so they
are stack rules. A missing ordering does not fail a preview: it fails `pulumi up` half-way, or worse, only
sometimes (a custom resource created before its CRD, a node group before its role's policies).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlinfra.catalog.crd_owners import CHART_RENDERS, crd_owner
from mlinfra.offline.graph import Graph
from mlinfra.policy.model import Record, dig, rule

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"

# Cloud identities, and the resources that grant them permissions, by the input that names the identity.
IDENTITY_TYPES = ("aws:iam/role:Role", "gcp:serviceaccount/account:Account")
GRANT_SUBJECTS: dict[str, tuple[str, ...]] = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role",),
    "aws:iam/rolePolicy:RolePolicy": ("role",),
    "aws:iam/policyAttachment:PolicyAttachment": ("roles",),
    "gcp:projects/iAMMember:IAMMember": ("member",),
    "gcp:projects/iAMBinding:IAMBinding": ("members",),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("member",),
    "gcp:storage/bucketIAMBinding:BucketIAMBinding": ("members",),
    # A binding on the service account itself: who may act as it (Workload Identity).
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId",),
    "gcp:serviceaccount/iAMBinding:IAMBinding": ("serviceAccountId",),
    # An access entry grants the role access to the cluster's API: nodes of a role without one cannot join
    # (EKS user guide, "Grant IAM users access to Kubernetes with EKS access entries").
    "aws:eks/accessEntry:AccessEntry": ("principalArn",),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("principalArn",),
}
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
# Resources that name an identity only to describe or bind it, and need none of its permissions.
_IDENTITY_PLUMBING = ("aws:iam/", "aws:eks/accessEntry:", "aws:eks/accessPolicyAssociation:",
                      "aws:eks/podIdentityAssociation:", "gcp:serviceaccount/")


def _graph(records: list[Record]) -> Graph:
    return Graph(records)


def api_group(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """(group, kind) of a Kubernetes custom resource record, None for built-in kinds and non-Kubernetes types.

    A group is custom when the catalog knows which chart installs it, or when it is a dotted group outside
    Kubernetes' own `*.k8s.io` (Pulumi's `helm.sh` and `yaml` pseudo-groups are not API groups).
    """
    type_ = str(record.get("type", ""))
    if not type_.startswith("kubernetes:") or type_.endswith("Patch"):
        return None
    try:
        _, module, kind = type_.split(":", 2)
    except ValueError:
        return None
    group = module.rsplit("/", 1)[0] if "/" in module else ""
    if crd_owner(group) is not None:
        return group, kind
    if "." not in group or group.endswith(".k8s.io") or group in ("helm.sh",):
        return None
    return group, kind


def _chart(record: Mapping[str, Any]) -> str:
    return str(dig(record, "inputs", "chart") or "").rsplit("/", 1)[-1]


@rule(
    "MLI-GRAPH-001",
    "high",
    "Custom resources wait for the chart or CRD that defines their kind",
    "The API server rejects an object whose CRD does not exist yet, and a chart's webhooks must be serving "
    "before its objects are admitted; without the ordering `pulumi up` fails or races on a fresh cluster.",
    "Pulumi docs (Resource options: dependsOn); Helm docs (Custom Resource Definitions: crds/ install first)",
    stack=True,
)
def custom_resources_wait_for_crds(records: list[Record]) -> Iterator[tuple[Record, str]]:
    """Each custom resource reaches (through dependencies, parents, providers), on its provider, a definer of
    its CRD: a CustomResourceDefinition of its kind, a Helm release of the chart that installs its group
    unless the release skips its CRDs (`skipCrds`), or a release of that chart's CRD chart (`<chart>-crd`, as
    Karpenter ships them). When the owning chart is released on the provider too, it reaches that release as
    well: its controller and webhooks admit the objects. A Helm release whose values make its chart render
    objects of another chart's group (`crd_owners.CHART_RENDERS`) reaches a definer of that group likewise."""
    graph = _graph(records)
    for ref, record in graph.records.items():
        needs: list[tuple[str, str | None]] = []
        found = api_group(record)
        if found is not None:
            needs.append(found)
        elif record.get("type") == HELM_RELEASE:
            values = dig(record, "inputs", "values") or {}
            needs += [(group, None) for path, group in CHART_RENDERS.get(_chart(record), ())
                      if dig(values, *path.split("."))]
        for group, kind in needs:
            yield from _waits_for_definer(graph, ref, record, group, kind)


def _waits_for_definer(graph: Graph, ref: str, record: Record, group: str,
                       kind: str | None) -> Iterator[tuple[Record, str]]:
    """Findings of one object (`kind` of `group`) or one release rendering objects of `group` (`kind` None)."""
    owner = crd_owner(group)
    provider = record.get("provider")
    on_provider = [(other, r) for other, r in graph.records.items() if r.get("provider") == provider and other != ref]
    definers = [
        other for other, r in on_provider
        if (r.get("type") == HELM_RELEASE and owner is not None and (
            (_chart(r) == owner and not dig(r, "inputs", "skipCrds")) or _chart(r) == f"{owner}-crd"))
        or (r.get("type") == CRD_TYPE and dig(r, "inputs", "spec", "group") == group
            and kind in (None, dig(r, "inputs", "spec", "names", "kind")))
    ]
    servers = [other for other, r in on_provider
               if r.get("type") == HELM_RELEASE and owner is not None and _chart(r) == owner]
    # The subject of each message: the object, or the release that renders such objects.
    label = f"{kind} ({group})" if kind else f"{group} objects of the {_chart(record)} chart: the release"
    what = f"Helm release of the {owner} chart" if owner else f"CustomResourceDefinition of {kind or '*'}.{group}"
    if not definers:
        yield record, f"{kind} ({group}): no {what} on provider {provider!r} to define it" if kind else \
            f"{group} objects of the {_chart(record)} chart: no {what} on provider {provider!r} to define them"
        return
    reach = graph.reach(ref)
    if not any(d in reach for d in definers):
        yield record, f"{label} does not wait for {', '.join(sorted(definers))}, which defines it"
    elif kind is not None and servers and not any(s in reach for s in servers):
        yield record, f"{label} does not wait for {', '.join(sorted(servers))}, which serves it"


@rule(
    "MLI-GRAPH-002",
    "high",
    "Resources that act as a cloud identity wait for its IAM grants",
    "A node group, node pool or IRSA/Workload Identity user created before its role's policies or its "
    "service account's bindings starts without permissions: nodes fail to join, pods get 403s until retried.",
    "Terraform AWS provider docs (aws_eks_node_group and aws_eks_cluster: depends_on the role policy "
    "attachments); GKE docs (Use least privilege IAM service accounts for nodes)",
    stack=True,
)
def identities_wait_for_grants(records: list[Record]) -> Iterator[tuple[Record, str]]:
    """Every resource that acts as an IAM role or a GCP service account (other than IAM plumbing) reaches
    every policy attachment, role policy, access entry or IAM member that names that identity.

    A resource acts as an identity when it depends on it directly (a node group's role ARN, an IRSA
    annotation in a chart's values), or, for EKS Pod Identity, when it runs pods as the service account that
    a `PodIdentityAssociation` binds to the role: a Kubernetes resource on the association's cluster, in its
    namespace, that names the service account (a Helm release's values, a ServiceAccount's name). Such a
    resource also reaches the association itself: pods started before it get no credentials.
    """
    graph = _graph(records)
    grants: dict[str, list[str]] = {}
    for ref, record in graph.records.items():
        fields = GRANT_SUBJECTS.get(str(record.get("type")))
        if not fields:
            continue
        deps = record.get("propertyDependencies") or {}
        for field in fields:
            for identity in deps.get(field) or ():
                resolved = graph.resolve(identity)
                if resolved is not None and graph.records[resolved].get("type") in IDENTITY_TYPES:
                    grants.setdefault(resolved, []).append(ref)
    bindings = list(_pod_identity_bindings(graph))
    for ref, record in graph.records.items():
        type_ = str(record.get("type", ""))
        if not graph.is_custom(ref) or type_.startswith(_IDENTITY_PLUMBING) or type_ in GRANT_SUBJECTS:
            continue
        needed = {g for identity in {graph.resolve(d) for d in record.get("dependencies") or ()}
                  if identity in grants for g in grants[identity]}
        if type_.startswith("kubernetes:"):
            for association, role, cluster, namespace, account in bindings:
                if (graph.cluster_of(ref) == cluster and _namespace(record) == namespace
                        and _names_account(record, account)):
                    needed |= {association, *grants.get(role, ())}
        missing = sorted(g for g in needed if g not in graph.reach(ref))
        if missing:
            yield record, f"uses an identity whose grants it does not wait for: {', '.join(missing)}"


def _pod_identity_bindings(graph: Graph) -> Iterator[tuple[str, str, str | None, str, str]]:
    """(association, role, cluster, namespace, service account) of each EKS Pod Identity association."""
    for ref, record in graph.records.items():
        if record.get("type") != POD_IDENTITY:
            continue
        for role in (record.get("propertyDependencies") or {}).get("roleArn") or ():
            resolved = graph.resolve(role)
            if resolved is not None:
                yield (ref, resolved, graph.cluster_of(ref), str(dig(record, "inputs", "namespace")),
                       str(dig(record, "inputs", "serviceAccount")))


def _namespace(record: Mapping[str, Any]) -> Any:
    return dig(record, "inputs", "namespace") or dig(record, "inputs", "metadata", "namespace")


def _names_account(record: Mapping[str, Any], account: str) -> bool:
    """Whether a Kubernetes record runs as `account`: a ServiceAccount of that name, or a Helm release whose
    values name it (charts take the service account's name as a value, e.g. `rbac.serviceAccount.name`)."""
    if str(record.get("type", "")).endswith(":ServiceAccount"):
        return dig(record, "inputs", "metadata", "name") == account
    if record.get("type") != HELM_RELEASE:
        return False
    stack: list[Any] = [dig(record, "inputs", "values")]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif value == account:
            return True
    return False


@rule(
    "MLI-GRAPH-003",
    "high",
    "Nothing on one cluster waits for another cluster",
    "Each cluster is deployed, replaced and destroyed on its own; a dependency across clusters chains their "
    "failures and can route objects through the wrong cluster's provider.",
    "Pulumi docs (Providers: explicit provider per cluster); mlinfra architecture (one provider per cluster)",
    stack=True,
)
def clusters_are_independent(records: list[Record]) -> Iterator[tuple[Record, str]]:
    """No custom resource reaches a provider (or a resource) that belongs to another cluster."""
    graph = _graph(records)
    for ref, record in graph.records.items():
        cluster = graph.cluster_of(ref)
        if cluster is None or not graph.is_custom(ref):
            continue
        foreign = sorted(
            f"{other} ({other_cluster})"
            for other in graph.reach(ref)
            if str(graph.records[other].get("type", "")).startswith("pulumi:providers:")
            and (other_cluster := graph.cluster_of(other)) is not None and other_cluster != cluster
        )
        if foreign:
            yield record, f"on cluster {cluster!r} but waits for another cluster's provider: {', '.join(foreign)}"


@rule(
    "MLI-GRAPH-004",
    "critical",
    "The dependency graph has no cycle",
    "The engine cannot order a cycle: `pulumi up` hangs or fails before creating anything in it.",
    "Pulumi docs (Resource options: dependsOn)",
    stack=True,
)
def no_cycles(records: list[Record]) -> Iterator[tuple[Record, str]]:
    """Report one cycle (the engine would stop at the first anyway), on its first resource."""
    graph = _graph(records)
    cycle = graph.cycle()
    if cycle:
        yield graph.records[cycle[0]], "dependency cycle: " + " -> ".join(cycle)
