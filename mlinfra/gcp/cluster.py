"""A GKE cluster, created with secure defaults or referenced, plus its GPU node pools."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

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
        self.cluster: container.Cluster | None = None
        if args.existing_kubeconfig is not None:
            self.kubeconfig = pulumi.Output.secret(args.existing_kubeconfig)
            cluster_name: pulumi.Input[str] = args.cluster_name
        else:
            self.cluster = container.Cluster(
                f"{name}-gke",
                name=args.cluster_name,
                location=args.region,
                project=args.project,
                min_master_version=args.kubernetes_version,
                remove_default_node_pool=True,
                initial_node_count=1,
                release_channel={"channel": args.release_channel},
                private_cluster_config={
                    "enable_private_nodes": True,
                    "enable_private_endpoint": False,
                    "master_ipv4_cidr_block": args.master_cidr,
                },
                workload_identity_config={"workload_pool": f"{args.project}.svc.id.goog"},
                enable_shielded_nodes=True,
                deletion_protection=True,
                opts=child,
            )
            cluster_name = self.cluster.name
            self.kubeconfig = _kubeconfig(
                self.cluster.name, self.cluster.endpoint, self.cluster.master_auth.cluster_ca_certificate
            )
        self.identity = {"workload_pool": f"{args.project}.svc.id.goog"} if args.project else {}
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        from mlinfra.gcp.node_pool import GkeGpuNodePool, node_pool_args

        self.node_pools = [
            GkeGpuNodePool(
                f"{name}-{pool.name}",
                node_pool_args(pool, cluster_name, args.region, args.project),
                pulumi.ResourceOptions(parent=self, provider=self.cloud_provider),
            )
            for pool in args.pools
        ]
        self.register_outputs({"kubeconfig": self.kubeconfig})


def gke_cluster_args(env: EnvironmentSpec, spec: ClusterSpec, pools: list[ResolvedPool]) -> GkeClusterArgs:
    """The `GkeCluster` inputs a cluster spec asks for."""
    existing = None
    name: str = f"{env.environment}-{spec.name}"
    if spec.existing is not None:
        existing = pulumi.Config("mlinfra").require_secret(spec.existing.kubeconfig_secret)
        name = spec.existing.name
    return GkeClusterArgs(
        cluster_name=name,
        region=spec.region,
        project=spec.project,
        kubernetes_version=spec.kubernetes_version,
        existing_kubeconfig=existing,
        pools=pools,
    )


def build_cluster(
    env: EnvironmentSpec, spec: ClusterSpec, pools: list[ResolvedPool], opts: pulumi.ResourceOptions
) -> GkeCluster:
    """The GKE cluster of a cluster spec, with its pools."""
    return GkeCluster(spec.name, gke_cluster_args(env, spec, pools), opts)
