"""The VPC network of a GKE cluster: created by mlinfra (VPC, subnetwork, Cloud Router, Cloud NAT) or brought.

A created network follows cluster-toolkit's network module (GoogleCloudPlatform/cluster-toolkit
modules/network/vpc): a custom-mode VPC (`auto_create_subnetworks = false`), one primary subnetwork in the
cluster's region with private Google access, and a Cloud Router with Cloud NAT for that region, so private
nodes pull images from registries outside Google. The subnetwork carries two secondary ranges for a
VPC-native cluster (GKE "VPC-native clusters": pods and services come from named secondary ranges).
Either way, one firewall rule admits the control plane to the nodes on the add-ons' webhook ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from mlinfra.catalog.gke import CREATED_NODE_CIDR

if TYPE_CHECKING:
    from pulumi_gcp.compute import (
        FirewallAllowArgsDict,
        RouterNatLogConfigArgsDict,
        SubnetworkSecondaryIpRangeArgsDict,
    )

# The created subnetwork's ranges. Nodes get a /20 (4,096 addresses); pods a /14 and services a /20, the
# sizes GKE itself picks for VPC-native clusters. None overlaps the default control-plane range 172.16.0.0/28.
NODE_CIDR = CREATED_NODE_CIDR
POD_CIDR = "10.16.0.0/14"
SERVICE_CIDR = "10.20.0.0/20"
PODS_RANGE = "pods"
SERVICES_RANGE = "services"
# Cloud NAT for every range of every subnetwork in the region, with addresses Google allocates as needed.
NAT_SOURCE_RANGES = "ALL_SUBNETWORKS_ALL_IP_RANGES"
NAT_IP_ALLOCATION = "AUTO_ONLY"


@dataclass(frozen=True)
class GkeNetwork:
    """Where a GKE cluster's nodes live: network and subnetwork names and the secondary ranges' names."""

    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    pods_range: str = PODS_RANGE
    services_range: str = SERVICES_RANGE


def secondary_ranges() -> list[SubnetworkSecondaryIpRangeArgsDict]:
    """The created subnetwork's secondary ranges: pods, then services."""
    return [
        {"range_name": PODS_RANGE, "ip_cidr_range": POD_CIDR},
        {"range_name": SERVICES_RANGE, "ip_cidr_range": SERVICE_CIDR},
    ]


def nat_log_config() -> RouterNatLogConfigArgsDict:
    """NAT logging of errors only: failed translations (port exhaustion) show up, normal traffic does not."""
    return {"enable": True, "filter": "ERRORS_ONLY"}


def webhook_firewall_allow(ports: Mapping[str, int]) -> list[FirewallAllowArgsDict]:
    """The rule's `allow` block: TCP on each distinct port of `ports` (add-on -> port), ascending."""
    return [{"protocol": "tcp", "ports": [str(p) for p in sorted(set(ports.values()))]}]


class CreatedNetwork(pulumi.ComponentResource):
    """A custom-mode VPC with one regional subnetwork (pod and service ranges), a Cloud Router and Cloud NAT."""

    network: GkeNetwork

    def __init__(self, name: str, cloud_name: str, region: str, project: str | None,
                 opts: pulumi.ResourceOptions | None = None):
        """`name` names the Pulumi resources; `cloud_name` (the cluster's cloud name) the Compute Engine ones."""
        super().__init__("mlinfra:gcp:GkeNetwork", name, None, opts)
        from pulumi_gcp import compute

        child = pulumi.ResourceOptions(parent=self)
        self.vpc = compute.Network(
            f"{name}-vpc", name=cloud_name, project=project, auto_create_subnetworks=False, routing_mode="REGIONAL",
            opts=child,
        )
        self.subnetwork = compute.Subnetwork(
            f"{name}-subnet", name=f"{cloud_name}-{region}", project=project, region=region, network=self.vpc.id,
            ip_cidr_range=NODE_CIDR, private_ip_google_access=True, secondary_ip_ranges=secondary_ranges(),
            opts=child,
        )
        self.router = compute.Router(
            f"{name}-router", name=f"{cloud_name}-router", project=project, region=region, network=self.vpc.id,
            opts=child,
        )
        self.nat = compute.RouterNat(
            f"{name}-nat", name=f"{cloud_name}-nat", project=project, region=region, router=self.router.name,
            nat_ip_allocate_option=NAT_IP_ALLOCATION, source_subnetwork_ip_ranges_to_nat=NAT_SOURCE_RANGES,
            log_config=nat_log_config(), opts=child,
        )
        self.network = GkeNetwork(network=self.vpc.name, subnetwork=self.subnetwork.name)
        self.register_outputs({"network": self.vpc.name, "subnetwork": self.subnetwork.name})


def webhook_firewall(
    name: str,
    cloud_name: str,
    network: pulumi.Input[str],
    project: str | None,
    master_cidr: str,
    node_service_account: pulumi.Input[str],
    ports: Mapping[str, int],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource | None:
    """The firewall rule from the control plane (`master_cidr`) to the nodes' service account on `ports`.

    None when the cluster's add-ons serve no webhook. Targeting the node service account covers the system
    pool and every GPU pool, which all run as it.
    """
    if not ports:
        return None
    from pulumi_gcp import compute

    return compute.Firewall(
        f"{name}-webhooks",
        name=f"{cloud_name}-webhooks",
        project=project,
        network=network,
        direction="INGRESS",
        source_ranges=[master_cidr],
        target_service_accounts=[node_service_account],
        allows=webhook_firewall_allow(ports),
        description="GKE control plane to the add-ons' webhooks and aggregated APIs: "
        + ", ".join(f"{addon} {port}" for addon, port in ports.items()),
        opts=opts,
    )
