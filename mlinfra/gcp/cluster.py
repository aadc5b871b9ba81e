"""A GKE cluster, created with secure defaults or referenced, plus its GPU node pools."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.context import cloud_cluster
from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import ResolvedPool


@dataclass
class GkeClusterArgs:
    """Inputs of `GkeCluster`; built from the spec by `gke_cluster_args`, or by hand in a team stack."""

    cluster_name: pulumi.Input[str]
    region: str
    project: str | None = None
    kubernetes_version: str = "1.33"
    existing_kubeconfig: pulumi.Input[str] | None = None
    pools: list[ResolvedPool] = field(default_factory=list)
    release_channel: str = "REGULAR"
    master_cidr: str = "172.16.0.0/28"
    public_access_cidrs: list[str] = field(default_factory=list)
    driver: str = "cloud"
    system_machine_type: str = "e2-standard-4"


# What GKE nodes need and nothing more: logs, metrics, metadata, and pulling images.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")


def private_cluster_config(args: GkeClusterArgs) -> dict[str, object]:
    """Private nodes always; the endpoint is private too unless CIDRs are listed for public access."""
    return {
        "enable_private_nodes": True,
        "enable_private_endpoint": not args.public_access_cidrs,
        "master_ipv4_cidr_block": args.master_cidr,
    }


def authorized_networks(args: GkeClusterArgs) -> dict[str, Any]:
    """Who may reach the control plane: only the listed CIDRs (none: only the VPC)."""
    return {"cidr_blocks": [{"cidr_block": c, "display_name": c} for c in args.public_access_cidrs]}


def _kubeconfig(name: pulumi.Input[str], endpoint: pulumi.Input[str], ca: pulumi.Input[str]) -> pulumi.Output[str]:
    def build(args: list[str]) -> str:
        cluster, host, cert = args
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {cluster}\n  cluster:\n    server: https://{host}\n"
            f"    certificate-authority-data: {cert}\n"
            f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: {cluster}\n"
            f"current-context: {cluster}\n"
            f"users:\n- name: {cluster}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
            "      command: gke-gcloud-auth-plugin\n      provideClusterInfo: true\n"
        )

    return pulumi.Output.secret(pulumi.Output.all(name, endpoint, ca).apply(build))


class GkeCluster(pulumi.ComponentResource):
    """A GKE cluster and its GPU node pools, with a Kubernetes provider for the add-ons.

    Created clusters get private nodes, workload identity, shielded nodes and a release channel.
    """

    k8s_provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    identity: dict[str, pulumi.Input[str]]
    cloud_provider: pulumi.ProviderResource

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:gcp:GkeCluster", name, None, opts)
        from pulumi_gcp import Provider, container

        self.cloud_provider = Provider(
            f"{name}-gcp", project=args.project, region=args.region, opts=pulumi.ResourceOptions(parent=self)
        )
        child = pulumi.ResourceOptions(parent=self, provider=self.cloud_provider)
        from pulumi_gcp import projects, serviceaccount

        # A dedicated node identity: the default compute service account has project Editor.
        self.node_service_account = serviceaccount.Account(
            f"{name}-nodes", account_id=f"{name}-nodes"[:30], display_name=f"GKE nodes of {name}",
            project=args.project, opts=child,
        )
        member = self.node_service_account.email.apply(lambda e: f"serviceAccount:{e}")
        grants = [
            projects.IAMMember(f"{name}-nodes-{role.split('/')[1]}", project=args.project or "", role=role,
                               member=member, opts=child)
            for role in NODE_ROLES
        ]
        self.cluster: container.Cluster | None = None
        if args.existing_kubeconfig is not None:
            self.kubeconfig = pulumi.Output.secret(args.existing_kubeconfig)
            cluster_name: pulumi.Input[str] = args.cluster_name
        else:
            # Built as a plain mapping: the SDK's TypedDict overloads reject nested dict literals under mypy.
            gke_args: dict[str, Any] = {
                "name": args.cluster_name,
                "location": args.region,
                "project": args.project,
                "min_master_version": args.kubernetes_version,
                # The default pool stays, hardened, as the home of kube-system and the add-ons: the GPU pools
                # are tainted and would leave them nowhere to run.
                "remove_default_node_pool": False,
                "initial_node_count": 1,
                "node_config": {
                    "machine_type": args.system_machine_type,
                    "service_account": self.node_service_account.email,
                    "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                    "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                    "workload_metadata_config": {"mode": "GKE_METADATA"},
                    "metadata": {"disable-legacy-endpoints": "true"},
                    "labels": {"mlinfra.io/pool": "system"},
                },
                "release_channel": {"channel": args.release_channel},
                "private_cluster_config": private_cluster_config(args),
                "master_authorized_networks_config": authorized_networks(args),
                "workload_identity_config": {"workload_pool": f"{args.project}.svc.id.goog"},
                "enable_shielded_nodes": True,
                "enable_legacy_abac": False,
                "networking_mode": "VPC_NATIVE",
                "ip_allocation_policy": {},
                "logging_service": "logging.googleapis.com/kubernetes",
                "monitoring_service": "monitoring.googleapis.com/kubernetes",
                "deletion_protection": True,
            }
            self.cluster = container.Cluster(
                f"{name}-gke",
                **gke_args,
                opts=pulumi.ResourceOptions(parent=self, provider=self.cloud_provider, depends_on=grants),
            )
            cluster_name = self.cluster.name
            self.kubeconfig = _kubeconfig(
                self.cluster.name, self.cluster.endpoint, self.cluster.master_auth.cluster_ca_certificate
            )
        self.identity = (
            {"workload_pool": f"{args.project}.svc.id.goog", "project": args.project}
            if args.project and self.cluster is not None
            else {}
        )
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        from mlinfra.gcp.node_pool import GkeGpuNodePool, node_pool_args

        self.node_pools = [
            GkeGpuNodePool(
                f"{name}-{pool.name}",
                replace(node_pool_args(pool, cluster_name, args.region, args.project, args.driver),
                        service_account=self.node_service_account.email),
                pulumi.ResourceOptions(parent=self, provider=self.cloud_provider, depends_on=grants),
            )
            for pool in args.pools
        ]
        self.register_outputs({"kubeconfig": self.kubeconfig})


def gke_cluster_args(env: EnvironmentSpec, spec: ClusterSpec, pools: list[ResolvedPool]) -> GkeClusterArgs:
    """The `GkeCluster` inputs a cluster spec asks for."""
    name, existing = cloud_cluster(env, spec)
    return GkeClusterArgs(
        cluster_name=name,
        region=spec.region,
        project=spec.project,
        kubernetes_version=spec.kubernetes_version,
        existing_kubeconfig=existing,
        pools=pools,
        release_channel=spec.release_channel,
        master_cidr=spec.master_cidr,
        public_access_cidrs=list(spec.endpoint.public_access_cidrs),
        driver=spec.gpu_operator.driver,
    )


def build_cluster(
    env: EnvironmentSpec, spec: ClusterSpec, pools: list[ResolvedPool], opts: pulumi.ResourceOptions
) -> GkeCluster:
    """The GKE cluster of a cluster spec, with its pools."""
    return GkeCluster(spec.name, gke_cluster_args(env, spec, pools), opts)
