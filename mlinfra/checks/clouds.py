"""Checks of what each cloud accepts: EKS network and endpoint, Karpenter settings, GKE MIG and sharing.

On GKE the pool checks depend on who runs the GPU stack: GKE itself with `gpu_operator.driver: cloud`
(partition sizes from GKE's table, no renaming, no time-slicing of partitions), or the GPU operator with
`driver: operator`, which accepts what it accepts on EKS.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from mlinfra import catalog
from mlinfra.problems import Problem, path_join
from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.pools import PoolSpec
from mlinfra.spec.resolve import ResolvedPool, resolve_pool

# Karpenter's duration format (NodePool CRD: consolidateAfter and expireAfter).
DURATION_RE = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
SUBNET_RE = re.compile(r"^subnet-[0-9a-z]+$")
VPC_RE = re.compile(r"^vpc-[0-9a-z]+$")


def check_cluster(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """Cluster-level settings that only one cloud understands, and endpoint exposure."""
    created = cluster.existing is None
    if cluster.cloud == "gcp":
        if cluster.network is not None:
            yield Problem(path_join(base, "network"), cluster.network.vpc_id,
                          "network (VPC and subnets) is for EKS clusters; GKE clusters use the project's network")
        if cluster.project is None:
            yield Problem(path_join(base, "project"), None,
                          "GKE clusters need `project`: it names the workload-identity pool and owns the node "
                          "service account")
    if cluster.network is not None:
        if not VPC_RE.match(cluster.network.vpc_id):
            yield Problem(path_join(base, "network", "vpc_id"), cluster.network.vpc_id,
                          "not a VPC ID; expected vpc-<hex>")
        for k, subnet in enumerate(cluster.network.subnet_ids):
            if not SUBNET_RE.match(subnet):
                yield Problem(path_join(base, "network", "subnet_ids", k), subnet,
                              "not a subnet ID; expected subnet-<hex>")
    access = cluster.endpoint
    for k, cidr in enumerate(access.public_access_cidrs):
        path = path_join(base, "endpoint", "public_access_cidrs", k)
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            yield Problem(path, cidr, "not a CIDR block (e.g. 203.0.113.0/24)")
            continue
        if net.prefixlen == 0:
            yield Problem(path, cidr, "opening the Kubernetes API to the whole internet is refused; list the "
                                      "office or VPN ranges that need it")
    if created and not access.private and not access.public_access_cidrs:
        yield Problem(path_join(base, "endpoint", "private"), access.private,
                      "the endpoint would be reachable from nowhere: keep `private: true` or list "
                      "`public_access_cidrs`")
    if cluster.cloud == "aws":
        for key in ("consolidate_after", "expire_after"):
            value = getattr(cluster.karpenter, key)
            if not DURATION_RE.match(value):
                yield Problem(path_join(base, "karpenter", key), value,
                              "not a Karpenter duration; use e.g. 30s, 10m, 1h30m or Never")


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


def check(env: EnvironmentSpec) -> Iterator[Problem]:
    """Every cloud-specific check of the environment (pools already passed the catalog checks)."""
    for i, cluster in enumerate(env.clusters):
        base = path_join("clusters", i)
        yield from check_cluster(cluster, base)
        for j, pool in enumerate(cluster.pools):
            yield from check_cloud_pool(cluster, pool, path_join(base, "pools", j))
