"""Checks of what each cloud accepts: EKS network and endpoint, Karpenter settings, GKE MIG and sharing.

On GKE the pool checks depend on who runs the GPU stack: GKE itself with `gpu_operator.driver: cloud`
(partition sizes from GKE's table, no renaming, no time-slicing of partitions), or the GPU operator with
`driver: operator`, which accepts what it accepts on EKS.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from datetime import date
from typing import TypeAlias

from mlinfra import catalog
from mlinfra.catalog import eks as eks_catalog
from mlinfra.problems import Problem, path_join
from mlinfra.spec.clusters import KARPENTER_IMAGE_PINS, AwsNetwork, ClusterSpec, GcpNetwork
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.pools import DEFAULT_AMI_FAMILY, PoolSpec
from mlinfra.spec.resolve import ResolvedPool, resolve_pool

# Karpenter's duration format (NodePool CRD: consolidateAfter and expireAfter).
DURATION_RE = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
# NodePool `spec.template.spec.terminationGracePeriod` takes a duration only, never `Never` (karpenter.sh_nodepools
# CRD v1.14.1: pattern ^([0-9]+(s|m|h))+$); the API server would refuse the NodePool at `pulumi up`.
GRACE_PERIOD_RE = re.compile(r"^([0-9]+(s|m|h))+$")
SUBNET_RE = re.compile(r"^subnet-[0-9a-z]+$")
VPC_RE = re.compile(r"^vpc-[0-9a-z]+$")
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_cluster(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """Cluster-level settings that only one cloud understands, and endpoint exposure."""
    created = cluster.existing is None
    if cluster.cloud == "gcp":
        if isinstance(cluster.network, AwsNetwork):
            yield Problem(path_join(base, "network"), cluster.network.vpc_id,
                          "vpc_id and subnet_ids are for EKS clusters; a GKE cluster joins an existing network "
                          "with network, subnetwork, pods_range and services_range, or leaves network out to get "
                          "one created")
        if cluster.project is None:
            yield Problem(path_join(base, "project"), None,
                          "GKE clusters need `project`: it names the workload-identity pool and owns the node "
                          "service account")
    if cluster.cloud == "aws" and isinstance(cluster.network, GcpNetwork):
        yield Problem(path_join(base, "network"), cluster.network.network,
                      "network, subnetwork and the secondary ranges are for GKE clusters; an EKS cluster takes "
                      "vpc_id and subnet_ids")
    if isinstance(cluster.network, AwsNetwork):
        if not VPC_RE.match(cluster.network.vpc_id):
            yield Problem(path_join(base, "network", "vpc_id"), cluster.network.vpc_id,
                          "not a VPC ID; expected vpc-<hex>")
        for k, subnet in enumerate(cluster.network.subnet_ids):
            if not SUBNET_RE.match(subnet):
                yield Problem(path_join(base, "network", "subnet_ids", k), subnet,
                              "not a subnet ID; expected subnet-<hex>")
    if cluster.cloud == "aws" and created and cluster.network is None:
        yield Problem(path_join(base, "network"), None,
                      "a created EKS cluster needs `network` (vpc_id and two or more private subnet_ids): without "
                      "it the subnets would be looked up across every VPC of the region")
    yield from check_endpoint(cluster, path_join(base, "endpoint"))
    if cluster.cloud == "aws":
        for key in ("consolidate_after", "expire_after"):
            value = getattr(cluster.karpenter, key)
            if not DURATION_RE.match(value):
                yield Problem(path_join(base, "karpenter", key), value,
                              "not a Karpenter duration; use e.g. 30s, 10m, 1h30m or Never")


# Ranges that are never a deployer's public egress as the public endpoint sees it: RFC 1918, RFC 6598 shared
# (carrier-grade NAT, also the usual EKS custom-networking range), loopback, link-local, RFC 4193 unique local.
# Documentation ranges (RFC 5737, RFC 3849) are accepted so examples can use them.
NON_PUBLIC_SOURCES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "fc00::/7", "fe80::/10", "::1/128",
))
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


def is_non_public_source(net: IPNetwork) -> bool:
    """Whether every address of `net` lies in a range that never reaches a public endpoint."""
    return any(net.version == r.version and net.subnet_of(r) for r in NON_PUBLIC_SOURCES)  # type: ignore[arg-type]


def is_private_range(net: IPNetwork) -> bool:
    """Whether `net` is a private range a VPC or connected network can hold (`is_private`, or RFC 6598)."""
    return net.is_private or (net.version == 4 and net.subnet_of(SHARED_ADDRESS_SPACE))  # type: ignore[arg-type]


def covers_whole_internet(networks: list[IPNetwork]) -> list[IPNetwork]:
    """The address families (as `0.0.0.0/0` / `::/0`) that `networks` cover entirely, however they are split.

    Each family is collapsed on its own (`ipaddress.collapse_addresses` merges overlapping and adjacent
    blocks), so `[0.0.0.0/1, 128.0.0.0/1]` collapses to `0.0.0.0/0` and is caught like `0.0.0.0/0` itself.
    """
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    covered: list[IPNetwork] = []
    if ipaddress.IPv4Network("0.0.0.0/0") in ipaddress.collapse_addresses(v4):
        covered.append(ipaddress.IPv4Network("0.0.0.0/0"))
    if ipaddress.IPv6Network("::/0") in ipaddress.collapse_addresses(v6):
        covered.append(ipaddress.IPv6Network("::/0"))
    return covered


def parse_cidrs(cidrs: list[str], path: str) -> tuple[dict[int, IPNetwork], list[Problem]]:
    """The CIDR blocks of a list by position, and a problem for each entry that is not one (or has host bits)."""
    networks: dict[int, IPNetwork] = {}
    problems = []
    for k, cidr in enumerate(cidrs):
        try:
            networks[k] = ipaddress.ip_network(cidr, strict=True)
        except ValueError as error:
            problems.append(Problem(path_join(path, k), cidr,
                                    f"not a CIDR block ({error}); write the network address and prefix, e.g. "
                                    "203.0.113.0/24 or 2001:db8::/32"))
    return networks, problems


def check_endpoint(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """Who deploys from where: every range is a CIDR of the right kind, none opens the API to the internet, and a
    created cluster has at least one path for its deployers.

    A public range must be a public address (the public endpoint sees the deployer's public egress); a private
    range must be a private address (RFC 1918, RFC 4193, ...) in the VPC or a network connected to it.
    """
    access = cluster.endpoint
    for key, public in (("public_access_cidrs", True), ("private_access_cidrs", False)):
        path = path_join(base, key)
        cidrs = getattr(access, key)
        networks, problems = parse_cidrs(cidrs, path)
        yield from problems
        for whole in covers_whole_internet(list(networks.values())):
            yield Problem(path, cidrs,
                          f"these ranges together cover the whole internet ({whole}); list only the deployers' "
                          "ranges (VPN or CI runner egress)")
        for k, net in networks.items():
            if net.prefixlen == 0:
                continue  # refused above as the whole internet
            if public and is_non_public_source(net):
                yield Problem(path_join(path, k), cidrs[k],
                              "a private range never reaches the public endpoint; list it under "
                              "private_access_cidrs, or give the deployers' public egress range here")
            elif not public and not is_private_range(net):
                yield Problem(path_join(path, k), cidrs[k],
                              "not a private range (RFC 1918, RFC 6598, RFC 4193, ...); a deployer on the "
                              "internet belongs under public_access_cidrs")
    if access.private_access_cidrs and not access.private:
        yield Problem(path_join(base, "private_access_cidrs"), access.private_access_cidrs,
                      "the private endpoint is off (`private: false`), so these ranges reach nothing; set "
                      "`private: true` or move the deployers to public_access_cidrs")
    if cluster.existing is None:
        via_private = access.private and bool(access.private_access_cidrs)
        if not via_private and not access.public_access_cidrs:
            value = {"private": access.private, "public_access_cidrs": access.public_access_cidrs,
                     "private_access_cidrs": access.private_access_cidrs}
            yield Problem(base, value,
                          "no deployer can reach this cluster's API endpoint, so `pulumi up` would time out after "
                          "creating it; add `public_access_cidrs` (the deployers' public egress, e.g. "
                          "203.0.113.0/24) or, with `private: true`, `private_access_cidrs` (a runner in the VPC "
                          "or a peered/VPN network, e.g. 10.0.0.0/16)")


def check_cloud_pool(cluster: ClusterSpec, pool: PoolSpec, base: str) -> Iterator[Problem]:
    """What one cloud accepts for a pool that passed the catalog checks."""
    driver = cluster.gpu_operator.driver
    resolved = resolve_pool(cluster, pool)
    if cluster.cloud == "gcp":
        if pool.ami_family is not None:
            yield Problem(path_join(base, "ami_family"), pool.ami_family,
                          "ami_family is for EKS pools; GKE picks the node image itself")
        if pool.secure_boot and driver == "operator":
            yield Problem(path_join(base, "secure_boot"), pool.secure_boot,
                          "secure boot refuses the unsigned driver the GPU operator compiles "
                          "(cluster gpu_operator.driver is `operator`); remove secure_boot or set driver `cloud`")
        if driver == "cloud":
            yield from _check_gke_native_pool(resolved, base)
    else:
        if pool.secure_boot is not None:
            yield Problem(path_join(base, "secure_boot"), pool.secure_boot,
                          "secure_boot is for GKE pools (shielded VMs)")
        if pool.ami_family == "bottlerocket" and driver == "operator":
            yield Problem(path_join(base, "ami_family"), pool.ami_family,
                          "Bottlerocket ships its own NVIDIA driver and cannot take the operator's "
                          "(cluster gpu_operator.driver is `operator`); use ami_family al2023")
        if pool.provisioner == "karpenter" and pool.spot and not cluster.karpenter.interruption_queue:
            yield Problem(path_join(base, "spot"), pool.spot,
                          "a Karpenter spot pool needs the interruption queue to drain nodes before EC2 reclaims "
                          "them; set karpenter.interruption_queue: true")
    # GKE pools have one machine type by design; EC2 spot capacity is pooled per instance type. A Karpenter
    # pool without named types may use every type with its GPU name and count.
    # Only worth saying when the catalog has another size with the same GPUs (8x H100 comes only as p5.48xlarge).
    karpenter_picks = pool.provisioner == "karpenter" and not pool.instance_types
    if cluster.cloud == "aws" and pool.spot and not karpenter_picks and len(resolved.instance_types) == 1:
        alternatives = [t.name for t in catalog.aws_instance_types_for(resolved.gpu.name, resolved.gpus_per_node)
                        if t.name not in resolved.instance_types]
        if alternatives:
            yield Problem(path_join(base, "instance_types"), resolved.instance_types[0],
                          "a spot GPU pool with one instance type is often out of capacity; add others with the "
                          f"same GPUs: {', '.join(alternatives)}", severity="warning")


def _check_gke_native_pool(resolved: ResolvedPool, base: str) -> Iterator[Problem]:
    """What GKE's own GPU stack (gpu_operator.driver `cloud`) can express for a pool.

    GKE's device plugin takes one partition size per node pool and one sharing config, advertises everything
    as nvidia.com/gpu and cannot rename it. The GPU operator's device plugin and MIG manager can do more, so
    each problem names `driver: operator` as the way out.
    """
    pool = resolved.spec
    for key, sharing in (("time_slicing", pool.time_slicing), ("mps", pool.mps)):
        if sharing is not None and sharing.rename_by_default:
            yield Problem(path_join(base, key, "rename_by_default"), True,
                          "GKE's device plugin cannot rename shared GPUs; they are always advertised as "
                          "nvidia.com/gpu on GKE (gpu_operator.driver `cloud`). Remove rename_by_default, or set "
                          "gpu_operator.driver: operator so the operator's device plugin advertises "
                          "nvidia.com/gpu.shared")
    if pool.mig is not None and pool.time_slicing is not None:
        yield Problem(path_join(base, "time_slicing"), {"replicas": pool.time_slicing.replicas},
                      "time-slicing MIG devices needs the operator's device plugin; a GKE node pool with "
                      "gpu_partition_size takes no gpu_sharing_config here (gpu_operator.driver `cloud`), "
                      "whatever time_slicing_on_mig says. Remove time_slicing, or set gpu_operator.driver: "
                      "operator")
    if pool.mig is not None and resolved.accelerator_type is not None:
        yield from _check_gke_partitions(resolved.accelerator_type, pool, path_join(base, "mig", "profiles"))


def _check_gke_partitions(accelerator: str, pool: PoolSpec, path: str) -> Iterator[Problem]:
    assert pool.mig is not None
    sizes = catalog.GCP_ACCELERATOR_TYPES[accelerator].gke_partition_sizes
    if len(pool.mig.profiles) != 1:
        yield Problem(path, pool.mig.profiles,
                      "a GKE node pool takes exactly one MIG partition size (gpu_partition_size); split the "
                      "layout into one pool per profile, or set gpu_operator.driver: operator so the "
                      "operator's MIG manager applies the mixed layout")
        return
    ((profile, count),) = pool.mig.profiles.items()
    if profile not in sizes:
        offered = ", ".join(sizes) if sizes else "none (no MIG on GKE)"
        yield Problem(path_join(path, profile), profile,
                      f"GKE does not offer partition size {profile} on {accelerator}; offered: {offered} "
                      "(or set gpu_operator.driver: operator to partition with the operator's MIG manager)")
    elif count != sizes[profile]:
        yield Problem(path_join(path, profile), count,
                      f"GKE fills each {accelerator} GPU with {sizes[profile]} x {profile}; set the count to "
                      f"{sizes[profile]} (or set gpu_operator.driver: operator for a partial layout)")


def eks_version(cluster: ClusterSpec) -> str:
    """The Kubernetes version of an EKS cluster: its own, else the catalog's default."""
    return cluster.kubernetes_version or eks_catalog.DEFAULT_KUBERNETES_VERSION


IMAGE_NAMES = {"al2023": "EKS AMI", "bottlerocket": "Bottlerocket"}


def check_image_pins(cluster: ClusterSpec, base: str, prod: bool, version: str) -> Iterator[Problem]:
    """An unpinned node image for each image family the cluster's Karpenter pools use.

    Each family has its own pin (`karpenter.ami_version` for AL2023, `karpenter.bottlerocket_version` for
    Bottlerocket), and only a family some Karpenter pool uses can roll nodes: `latest` on a pin no pool reads
    selects nothing and is left alone, as is a set pin no pool reads (it changes no node, and keeps the pin ready
    for a pool of that family). The suggested release is the catalog's newest that ships GPU images for the
    cluster's Kubernetes version.
    """
    users: dict[str, list[str]] = {}
    for pool in cluster.pools:
        if pool.provisioner == "karpenter":
            users.setdefault(pool.ami_family or DEFAULT_AMI_FAMILY, []).append(pool.name)
    for family, pools in sorted(users.items()):
        field = KARPENTER_IMAGE_PINS[family]
        if getattr(cluster.karpenter, field) != "latest":
            continue
        name = IMAGE_NAMES[family]
        yield Problem(path_join(base, "karpenter", field), "latest",
                      f"unpinned node image: each new {name} release would replace the GPU nodes of Karpenter "
                      f"pool(s) {', '.join(pools)} outside any review; pin a release such as "
                      f"{eks_catalog.suggested_release(family, version)}" + (" (required in prod)" if prod else ""),
                      severity="error" if prod else "warning")


def check_eks(cluster: ClusterSpec, base: str, environment: str, today: date) -> Iterator[Problem]:
    """EKS version support, the node image pin and Karpenter pool bounds.

    A version in extended support is billed at the extended rate and auto-upgraded when that ends (EKS user
    guide, "Kubernetes version lifecycle"): a warning, an error in an environment named prod. Unpinned AMIs roll
    GPU nodes on every AWS release outside any review (Karpenter docs, "Managing AMIs": pin in production).
    """
    prod = environment == "prod"
    version = eks_version(cluster)
    known = eks_catalog.EKS_VERSIONS.get(version)
    path = path_join(base, "kubernetes_version")
    if known is None:
        yield Problem(path, version, "not an EKS version of the catalog's release calendar; use one of "
                      f"{', '.join(eks_catalog.EKS_VERSIONS)}")
    elif known.support(today) == "ended":
        yield Problem(path, version, f"EKS ended all support for {version} on {known.end_of_extended}; use "
                      f"{eks_catalog.DEFAULT_KUBERNETES_VERSION}")
    elif known.support(today) == "extended":
        yield Problem(path, version, f"{version} left EKS standard support on {known.end_of_standard} and is billed "
                      f"at the extended-support rate until {known.end_of_extended}; upgrade to "
                      f"{eks_catalog.DEFAULT_KUBERNETES_VERSION}", severity="error" if prod else "warning")
    karpenter_pools = [(j, p) for j, p in enumerate(cluster.pools) if p.provisioner == "karpenter"]
    yield from check_image_pins(cluster, base, prod, version)
    if karpenter_pools and not GRACE_PERIOD_RE.match(cluster.karpenter.termination_grace_period):
        yield Problem(path_join(base, "karpenter", "termination_grace_period"),
                      cluster.karpenter.termination_grace_period,
                      "not a NodePool terminationGracePeriod: a duration such as 1h, 24h or 1h30m (`Never` is not "
                      "accepted here)")
    for j, pool in karpenter_pools:
        if pool.min_nodes > 0:
            yield Problem(path_join(base, "pools", j, "min_nodes"), pool.min_nodes,
                          "Karpenter keeps no minimum of nodes: it launches them for pending pods only. Use "
                          "`provisioner: managed` for a floor of always-on nodes, or set min_nodes: 0")


def eks_role_names(cluster: ClusterSpec) -> list[str]:
    """The resource names of the IAM roles mlinfra creates for an EKS cluster (Pulumi names each role after its
    resource name, `<name>-<7 random hex>`): the node role; for a created cluster the cluster role and the EBS CSI
    driver's; cluster-autoscaler's when a managed pool can scale; Karpenter's controller and node roles when a pool
    uses Karpenter (aws/cluster.py, aws/cluster_autoscaler.py, aws/karpenter.py)."""
    name = cluster.name
    roles = [f"{name}-node-role"]
    if cluster.existing is None:
        roles += [f"{name}-cluster-role", f"{name}-ebs-csi"]
    if any(p.provisioner == "managed" and p.min_nodes < p.max_nodes for p in cluster.pools):
        roles.append(f"{name}-cluster-autoscaler-role")
    if any(p.provisioner == "karpenter" for p in cluster.pools):
        roles += [f"{name}-karpenter-controller", f"{name}-karpenter-node-role"]
    return roles


def check_aws_names(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """Names AWS would refuse: IAM roles named after the cluster, managed node groups after their pool."""
    room = eks_catalog.IAM_ROLE_NAME_MAX - eks_catalog.AUTONAME_SUFFIX
    longest = max(eks_role_names(cluster), key=len)
    if len(longest) > room:
        limit = room - (len(longest) - len(cluster.name))
        yield Problem(path_join(base, "name"), cluster.name,
                      f"too long for the IAM roles named after it: role `{longest}` plus the 8-character unique "
                      f"suffix runs past IAM's {eks_catalog.IAM_ROLE_NAME_MAX} characters and `pulumi up` would "
                      f"fail; use a cluster name of at most {limit} characters")
    for j, pool in enumerate(cluster.pools):
        prefix = f"{pool.name}-"
        if pool.provisioner == "managed" and len(prefix) > eks_catalog.NODE_GROUP_NAME_PREFIX_MAX:
            yield Problem(path_join(base, "pools", j, "name"), pool.name,
                          f"too long for an EKS managed node group: its name is `{prefix}` plus a 26-character "
                          "unique suffix, at most 63 characters; use a pool name of at most "
                          f"{eks_catalog.NODE_GROUP_NAME_PREFIX_MAX - 1} characters")


def check(env: EnvironmentSpec, today: date | None = None) -> Iterator[Problem]:
    """Every cloud-specific check of the environment (pools already passed the catalog checks).

    `today` decides version support (default: the clock's date)."""
    today = today or date.today()
    for i, cluster in enumerate(env.clusters):
        base = path_join("clusters", i)
        yield from check_cluster(cluster, base)
        if cluster.cloud == "aws":
            yield from check_eks(cluster, base, env.environment, today)
            yield from check_aws_names(cluster, base)
        for j, pool in enumerate(cluster.pools):
            yield from check_cloud_pool(cluster, pool, path_join(base, "pools", j))
