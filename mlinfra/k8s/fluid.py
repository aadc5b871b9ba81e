"""Fluid with Alluxio caches: the Fluid chart, its privileged namespace, the caches and their cloud identity."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from mlinfra.catalog.versions import FLUID, ChartPin
from mlinfra.k8s import fluid_identity as ident
from mlinfra.k8s.fluid_objects import (
    NAMESPACE,
    RUNTIME_SERVICE_ACCOUNT,
    cache_manifests,
    critical_pods_quota,
    helm_values,
    namespace_manifest,
)
from mlinfra.k8s.helm import release_source_args
from mlinfra.k8s.scheduling_model import team_namespaces

if TYPE_CHECKING:
    from mlinfra.context import ClusterContext
    from mlinfra.spec.caches import CacheSpec


@dataclass
class AwsReaderArgs:
    """An IAM role the cache pods assume through IRSA, read-only on the cached S3 prefixes."""

    role_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    policy: dict[str, Any]


@dataclass
class GcpReaderArgs:
    """A Google service account the cache pods act as through Workload Identity, object viewer on the buckets."""

    account_id: str
    workload_pool: pulumi.Input[str]
    buckets: list[str]
    project: pulumi.Input[str] | None = None


@dataclass
class FluidArgs:
    """Inputs of `Fluid`; `fluid_args` builds them from the spec, a team stack may build them by hand.

    `critical_pods_quota`: the ResourceQuota (manifest) that admits critical-priority pods in the Fluid
    namespace, created before the release; needed on GKE (`fluid_objects.critical_pods_quota`). Default: none.
    """

    objects: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=helm_values)
    chart: ChartPin = FLUID
    aws_reader: AwsReaderArgs | None = None
    gcp_reader: GcpReaderArgs | None = None
    k8s_provider: pulumi.ProviderResource | None = None
    cloud_provider: pulumi.ProviderResource | None = None
    team_namespaces: Mapping[str, pulumi.Resource] | None = None
    critical_pods_quota: dict[str, Any] | None = None


def _short(name: str, limit: int) -> str:
    """`name`, or a prefix of it plus a stable hash when it is longer than the cloud allows."""
    if len(name) <= limit:
        return name
    return f"{name[: limit - 7].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def fluid_args(ctx: ClusterContext, caches: list[CacheSpec]) -> FluidArgs:
    """What the caches of one cluster need: their manifests and, where mlinfra made the cluster, an identity."""
    by_name = {p.name: p for p in ctx.pools}
    # A team's Dataset and PVC go to the team's namespace, which may differ from its name.
    spaces = team_namespaces(ctx.env, ctx.cluster.name)
    objects = [
        obj for c in caches for obj in cache_manifests(c, [by_name[p] for p in c.pools if p in by_name], spaces)
    ]
    mounts = ident.identity_mounts(ctx.cluster.cloud, caches)
    aws = gcp = None
    identity = ctx.identity or {}
    if mounts and ctx.cluster.cloud == "aws" and "oidc_provider_arn" in identity:
        aws = AwsReaderArgs(
            role_name=_short(f"{ctx.env.environment}-{ctx.name}-fluid-reader", 64),
            oidc_provider_arn=identity["oidc_provider_arn"],
            oidc_issuer=identity["oidc_issuer"],
            policy=ident.s3_read_policy(mounts),
        )
    elif mounts and ctx.cluster.cloud == "gcp" and "workload_pool" in identity:
        gcp = GcpReaderArgs(
            account_id=ident.gsa_account_id(ctx.env.environment, ctx.name),
            workload_pool=identity["workload_pool"],
            buckets=ident.gcs_buckets(mounts),
            project=identity.get("project") or ctx.cluster.project,
        )
    return FluidArgs(
        objects=objects,
        aws_reader=aws,
        gcp_reader=gcp,
        k8s_provider=ctx.k8s_provider,
        cloud_provider=ctx.cloud_provider,
        # A team's reference Dataset needs only its team's namespace, not the whole scheduler add-on.
        team_namespaces=getattr(ctx.addons.get("scheduler"), "namespaces", None),
        critical_pods_quota=critical_pods_quota(ctx.cluster.cloud, ctx.pools),
    )


def _object_role(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    kind = obj["kind"].lower()
    if meta["namespace"] != NAMESPACE:
        return f"{meta['namespace']}-{meta['name']}-{kind}"
    return f"{meta['name']}-{kind}"


class Fluid(pulumi.ComponentResource):
    """Fluid on one cluster: its privileged namespace, the pinned chart, the caches and their read identity.

    Outputs: `namespace` (where the caches run), `reader` (the IAM role ARN or service-account email the
    cache pods use, when cloud identity is bound) and `datasets` (every Dataset as `namespace/name`, each
    with a PVC of the same name).
    """

    namespace: pulumi.Output[str]
    reader: pulumi.Output[str] | None
    datasets: list[str]

    def __init__(self, name: str, args: FluidArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:fluid:Fluid", name, None, opts)
        import pulumi_kubernetes as k8s

        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        cloud_opts = pulumi.ResourceOptions(parent=self, provider=args.cloud_provider)
        ns_doc = namespace_manifest()
        namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=ns_doc["metadata"], opts=k8s_opts)
        after_ns = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[namespace]))
        before_release: list[pulumi.Resource] = [namespace]
        if args.critical_pods_quota is not None:
            quota = args.critical_pods_quota
            before_release.append(
                k8s.core.v1.ResourceQuota(
                    f"{name}-critical-pods", metadata=quota["metadata"], spec=quota["spec"], opts=after_ns
                )
            )

        self.reader = None
        annotation: tuple[str, pulumi.Output[str]] | None = None
        # The grants the cache pods' identity needs; the binding of that identity waits for them.
        grants: list[pulumi.Resource] = []
        if args.aws_reader is not None:
            from pulumi_aws import iam

            r = args.aws_reader
            role = iam.Role(
                f"{name}-reader",
                name=r.role_name,
                description="Fluid cache pods: read-only access to the cached S3 data (IRSA)",
                assume_role_policy=pulumi.Output.all(r.oidc_provider_arn, r.oidc_issuer).apply(
                    lambda a: ident.irsa_trust_policy(a[0], a[1])
                ),
                opts=cloud_opts,
            )
            grants.append(iam.RolePolicy(
                f"{name}-reader-s3",
                role=role.name,
                policy=json.dumps(r.policy, sort_keys=True),
                opts=cloud_opts,
            ))
            self.reader = role.arn
            annotation = (ident.IRSA_ANNOTATION, role.arn)
        elif args.gcp_reader is not None:
            from pulumi_gcp import serviceaccount, storage

            g = args.gcp_reader
            account = serviceaccount.Account(
                f"{name}-reader",
                account_id=g.account_id,
                project=g.project,
                display_name="Fluid cache reader",
                description="Fluid cache pods: read-only access to the cached GCS data (Workload Identity)",
                opts=cloud_opts,
            )
            grants.append(serviceaccount.IAMMember(
                f"{name}-reader-wi",
                service_account_id=account.name,
                role="roles/iam.workloadIdentityUser",
                member=pulumi.Output.from_input(g.workload_pool).apply(ident.workload_identity_member),
                opts=cloud_opts,
            ))
            for bucket in g.buckets:
                grants.append(storage.BucketIAMMember(
                    f"{name}-reader-{bucket}",
                    bucket=bucket,
                    role="roles/storage.objectViewer",
                    member=account.email.apply(lambda e: f"serviceAccount:{e}"),
                    opts=cloud_opts,
                ))
            self.reader = account.email
            annotation = (ident.GKE_ANNOTATION, account.email)

        if annotation is not None:
            # The AlluxioRuntime has no service-account field: its pods run as the namespace's default
            # account, which already exists, so the binding is a patch of that account.
            k8s.core.v1.ServiceAccountPatch(
                f"{name}-runtime-sa",
                metadata={
                    "name": RUNTIME_SERVICE_ACCOUNT,
                    "namespace": NAMESPACE,
                    "annotations": {annotation[0]: annotation[1]},
                },
                opts=pulumi.ResourceOptions.merge(after_ns, pulumi.ResourceOptions(depends_on=grants)),
            )

        release = k8s.helm.v3.Release(
            f"{name}-chart",
            name="fluid",
            **release_source_args(args.chart),
            namespace=NAMESPACE,
            create_namespace=False,
            values=args.values,
            # On GKE the quota must exist before the chart's critical-priority pods are created.
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=before_release)),
        )

        created: dict[tuple[str, str, str], pulumi.Resource] = {}
        self.datasets = []
        for obj in args.objects:
            meta = obj["metadata"]
            deps: list[pulumi.Resource] = [release]
            if meta["namespace"] == NAMESPACE and obj["kind"] != "Dataset":
                deps.append(created[("Dataset", NAMESPACE, meta["name"].removesuffix("-warmup"))])
            if meta["namespace"] != NAMESPACE:
                # A team's reference Dataset needs the team's namespace and the cache it points at.
                deps.append(created[("AlluxioRuntime", NAMESPACE, meta["name"])])
                if args.team_namespaces is not None and meta["namespace"] in args.team_namespaces:
                    deps.append(args.team_namespaces[meta["namespace"]])
            resource = k8s.apiextensions.CustomResource(
                f"{name}-{_object_role(obj)}",
                api_version=obj["apiVersion"],
                kind=obj["kind"],
                metadata=meta,
                spec=obj["spec"],
                opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=deps)),
            )
            created[(obj["kind"], meta["namespace"], meta["name"])] = resource
            if obj["kind"] == "Dataset":
                self.datasets.append(f"{meta['namespace']}/{meta['name']}")

        self.namespace = namespace.metadata.name
        self.register_outputs({"namespace": self.namespace, "reader": self.reader, "datasets": self.datasets})


def addon(ctx: ClusterContext) -> pulumi.ComponentResource | None:
    """Fluid and the caches placed on this cluster, or None when no cache names it."""
    caches = [c for c in ctx.env.caches if c.cluster == ctx.name]
    if not caches:
        return None
    args = fluid_args(ctx, caches)
    return Fluid(f"{ctx.name}-fluid", args, ctx.child_opts())
