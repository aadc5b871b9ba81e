"""A GKE cluster, created with secure defaults or referenced, plus its GPU node pools."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.context import cloud_cluster
from mlinfra.spec.clusters import ClusterSpec, GcpNetwork
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import ResolvedPool

if TYPE_CHECKING:
    from pulumi_gcp.container import (
        ClusterIpAllocationPolicyArgsDict,
        ClusterMasterAuthorizedNetworksConfigArgsDict,
        ClusterNodeConfigArgsDict,
        ClusterPrivateClusterConfigArgsDict,
    )


@dataclass
class GkeClusterArgs:
    """Inputs of `GkeCluster`; built from the spec by `gke_cluster_args`, or by hand in a team stack.

    `kubernetes_version` None follows the release channel (GKE picks the channel's default version).
    `network` None creates a VPC network for the cluster (`mlinfra.gcp.network.CreatedNetwork`).
    `control_plane_ports` (add-on -> port) are opened from `master_cidr` to the nodes.
    """

    cluster_name: pulumi.Input[str]
    region: str
    project: str | None = None
    kubernetes_version: str | None = None
    existing_kubeconfig: pulumi.Input[str] | None = None
    pools: list[ResolvedPool] = field(default_factory=list)
    release_channel: str = "REGULAR"
    master_cidr: str = "172.16.0.0/28"
    public_access_cidrs: list[str] = field(default_factory=list)
    private_access_cidrs: list[str] = field(default_factory=list)
    driver: str = "cloud"
    system_machine_type: str = "e2-standard-4"
    network: GcpNetwork | None = None
    control_plane_ports: dict[str, int] = field(default_factory=dict)


# What GKE nodes need and nothing more: logs, metrics, metadata, and pulling images.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
# A service account id is 6-30 characters matching this (IAM API, CreateServiceAccountRequest.account_id).
ACCOUNT_ID_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])$")


def node_account_id(name: str) -> str:
    """The node service account's id for cluster `name`: `<name>-nodes` when that is a valid id.

    Cluster names may be up to 40 characters and may start with a digit; an id may not. Longer or
    digit-led names get a letter prefix, are cut to 23 characters and end in a hash of the whole name, so
    two clusters whose names share a prefix still get two accounts.
    """
    base = f"{name}-nodes"
    if len(base) <= 30 and ACCOUNT_ID_RE.match(base):
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    prefix = base if base[0].isalpha() else f"gke-{base}"
    return f"{prefix[:23].rstrip('-')}-{digest}"


def private_cluster_config(args: GkeClusterArgs) -> ClusterPrivateClusterConfigArgsDict:
    """Private nodes always; the endpoint is private unless public CIDRs are declared.

    Deployers declared by private CIDRs (a runner in a peered network or behind a VPN) may sit in another
    region than the control plane's internal load balancer, which only same-region clients reach unless
    global access is on (GKE "Advanced private cluster configurations", control plane global access).
    """
    config: ClusterPrivateClusterConfigArgsDict = {
        "enable_private_nodes": True,
        "enable_private_endpoint": not args.public_access_cidrs,
        "master_ipv4_cidr_block": args.master_cidr,
    }
    if args.private_access_cidrs:
        config["master_global_access_config"] = {"enabled": True}
    return config


def authorized_networks(args: GkeClusterArgs) -> ClusterMasterAuthorizedNetworksConfigArgsDict:
    """Who may reach the control plane: the declared deployers' CIDRs, public and private, and nobody else.

    GKE applies authorized networks to both endpoints: the public one, and on private clusters the private
    one for clients outside the cluster's subnetwork (GKE "Add authorized networks for control plane access").
    Compute Engine public IPs of every Google Cloud customer are admitted unless
    `gcp_public_cidrs_access_enabled` is false (MasterAuthorizedNetworksConfig, GKE API), so it is off.
    """
    cidrs = list(dict.fromkeys([*args.public_access_cidrs, *args.private_access_cidrs]))
    return {
        "cidr_blocks": [{"cidr_block": c, "display_name": c} for c in cidrs],
        "gcp_public_cidrs_access_enabled": False,
    }


def ip_allocation_policy(network: GcpNetwork | None) -> ClusterIpAllocationPolicyArgsDict:
    """VPC-native: pods and services take the subnetwork's named secondary ranges."""
    from mlinfra.gcp.network import PODS_RANGE, SERVICES_RANGE

    return {
        "cluster_secondary_range_name": network.pods_range if network else PODS_RANGE,
        "services_secondary_range_name": network.services_range if network else SERVICES_RANGE,
    }


def system_node_config(args: GkeClusterArgs, service_account: pulumi.Input[str]) -> ClusterNodeConfigArgsDict:
    """The default pool's nodes: hardened, running as the node service account, labelled as the system pool."""
    return {
        "machine_type": args.system_machine_type,
        "service_account": service_account,
        "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "metadata": {"disable-legacy-endpoints": "true"},
        "labels": {"mlinfra.io/pool": "system"},
    }


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
            f"{name}-nodes", account_id=node_account_id(name), display_name=f"GKE nodes of {name}",
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
            from mlinfra.gcp.network import CreatedNetwork, webhook_firewall

            waits: list[pulumi.Resource] = list(grants)
            if args.network is None:
                created = CreatedNetwork(f"{name}-network", str(args.cluster_name), args.region, args.project,
                                         pulumi.ResourceOptions(parent=self, provider=self.cloud_provider))
                network, subnetwork = created.network.network, created.network.subnetwork
                # Nodes pull their images as they boot: the NAT must exist before the first node does.
                waits.append(created.nat)
            else:
                network, subnetwork = args.network.network, args.network.subnetwork
            # It names the node service account; the graph rules want whatever uses an identity to wait for
            # its grants, which costs nothing here (they are created long before the cluster is).
            self.webhook_firewall = webhook_firewall(
                name, str(args.cluster_name), network, args.project, args.master_cidr,
                self.node_service_account.email, args.control_plane_ports,
                pulumi.ResourceOptions(parent=self, provider=self.cloud_provider, depends_on=grants),
            )
            self.cluster = container.Cluster(
                f"{name}-gke",
                name=args.cluster_name,
                location=args.region,
                project=args.project,
                # None follows the release channel: GKE creates the channel's default version.
                min_master_version=args.kubernetes_version,
                release_channel=container.ClusterReleaseChannelArgs(channel=args.release_channel),
                network=network,
                subnetwork=subnetwork,
                networking_mode="VPC_NATIVE",
                ip_allocation_policy=ip_allocation_policy(args.network),
                # The default pool stays, hardened, as the home of kube-system and the add-ons: the GPU pools
                # are tainted and would leave them nowhere to run.
                remove_default_node_pool=False,
                initial_node_count=1,
                node_config=system_node_config(args, self.node_service_account.email),
                private_cluster_config=private_cluster_config(args),
                master_authorized_networks_config=authorized_networks(args),
                workload_identity_config=container.ClusterWorkloadIdentityConfigArgs(
                    workload_pool=f"{args.project}.svc.id.goog"),
                enable_shielded_nodes=True,
                enable_legacy_abac=False,
                logging_service="logging.googleapis.com/kubernetes",
                monitoring_service="monitoring.googleapis.com/kubernetes",
                deletion_protection=True,
                opts=pulumi.ResourceOptions(parent=self, provider=self.cloud_provider, depends_on=waits),
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
    from mlinfra.k8s.control_plane_ports import control_plane_ports

    name, existing = cloud_cluster(env, spec)
    return GkeClusterArgs(
        cluster_name=name,
        region=spec.region,
        project=spec.project,
        # Only a version written in the spec pins the cluster; otherwise it follows the release channel.
        kubernetes_version=spec.kubernetes_version if "kubernetes_version" in spec.model_fields_set else None,
        existing_kubeconfig=existing,
        pools=pools,
        release_channel=spec.release_channel,
        master_cidr=spec.master_cidr,
        public_access_cidrs=list(spec.endpoint.public_access_cidrs),
        private_access_cidrs=list(spec.endpoint.private_access_cidrs),
        driver=spec.gpu_operator.driver,
        network=spec.network if isinstance(spec.network, GcpNetwork) else None,
        control_plane_ports=control_plane_ports(env, spec),
    )


def build_cluster(
    env: EnvironmentSpec, spec: ClusterSpec, pools: list[ResolvedPool], opts: pulumi.ResourceOptions
) -> GkeCluster:
    """The GKE cluster of a cluster spec, with its pools."""
    return GkeCluster(spec.name, gke_cluster_args(env, spec, pools), opts)
