"""Checks of what GKE and Compute Engine accept: versions, boot disks, provisioning models, zones and networks.

The facts come from the catalog (`mlinfra.catalog.gke`), each with its source. Pools reach these checks only
after the catalog checks passed, so they can be resolved.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterator

from mlinfra import catalog
from mlinfra.catalog import gke as facts
from mlinfra.problems import Problem, path_join
from mlinfra.spec.clusters import ClusterSpec, GcpNetwork
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.pools import PoolSpec
from mlinfra.spec.resolve import resolve_pool

# Compute Engine resource names (RFC 1035 labels): networks, subnetworks and secondary range names.
GCE_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+(-gke\.\d+)?)?$")
# MasterAuthorizedNetworksConfig.cidr_blocks: "up to 50 external networks" (GKE API, google.container.v1).
MAX_AUTHORIZED_NETWORKS = 50


def _minor_key(minor: str) -> tuple[int, int]:
    major, rest = minor.split(".", 1)
    return int(major), int(rest)


def check_version(cluster: ClusterSpec, base: str, today: dt.date) -> Iterator[Problem]:
    """A version given for a created GKE cluster must still be creatable today.

    Without `kubernetes_version` the cluster follows its release channel (GKE picks the channel's default
    version), which is always creatable; a version written down goes stale, so it is checked against the
    catalog's end-of-life dates.
    """
    if cluster.existing is not None or cluster.kubernetes_version is None:
        return
    path, value = path_join(base, "kubernetes_version"), cluster.kubernetes_version
    supported = facts.supported_gke_versions(today)
    if not VERSION_RE.match(value):
        yield Problem(path, value, f"not a GKE version; use a minor version such as {supported[-1]} "
                                   "(or leave it out to follow the release channel)")
        return
    minor = facts.minor_version(value)
    known = facts.GKE_VERSIONS.get(minor)
    newest = max(facts.GKE_VERSIONS, key=_minor_key)
    if known is not None and not known.supported_on(today):
        yield Problem(path, value, f"GKE {minor} reached end of life on {known.end_of_life} and can no longer "
                                   f"create clusters; supported today: {', '.join(supported)} (or leave "
                                   "kubernetes_version out to follow the release channel)")
    elif known is None and _minor_key(minor) < _minor_key(newest):
        yield Problem(path, value, f"GKE does not offer {minor}; supported today: {', '.join(supported)}")
    elif known is None:
        yield Problem(path, value, f"the catalog has no support dates for GKE {minor} yet (newest known: "
                                   f"{newest}); GKE refuses a version its release channel does not offer",
                      severity="warning")


def check_network(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """A brought network's names and ranges have the shape GKE takes; the control plane's range is a /28."""
    network = cluster.network
    if isinstance(network, GcpNetwork):
        for key in ("network", "subnetwork", "pods_range", "services_range"):
            value = getattr(network, key)
            if not GCE_NAME_RE.match(value):
                yield Problem(path_join(base, "network", key), value,
                              "not a Compute Engine name (lowercase letters, digits and '-', starting with a "
                              "letter, at most 63 characters); give the name, not a URL")
        if network.pods_range == network.services_range:
            yield Problem(path_join(base, "network", "services_range"), network.services_range,
                          "pods and services need two different secondary ranges of the subnetwork")
    if cluster.existing is None:
        declared = [*cluster.endpoint.public_access_cidrs, *cluster.endpoint.private_access_cidrs]
        if len(set(declared)) > MAX_AUTHORIZED_NETWORKS:
            yield Problem(path_join(base, "endpoint"), len(set(declared)),
                          f"GKE takes at most {MAX_AUTHORIZED_NETWORKS} master authorized networks, and every "
                          "public and private deployer range becomes one; merge ranges into larger blocks")
        yield from _check_private_deployers(cluster, base)
        try:
            master = ipaddress.ip_network(cluster.master_cidr, strict=True)
        except ValueError:
            yield Problem(path_join(base, "master_cidr"), cluster.master_cidr, "not a CIDR block (e.g. 172.16.0.0/28)")
            return
        if master.version != 4 or master.prefixlen != 28 or not master.is_private:
            yield Problem(path_join(base, "master_cidr"), cluster.master_cidr,
                          "GKE's control-plane range must be a private IPv4 /28 (e.g. 172.16.0.0/28)")


def _check_private_deployers(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """Say where a private deployer range can really reach a GKE control plane from.

    A peering-based private cluster's control plane lives in a Google-owned VPC peered with the cluster's. It is
    reached from the cluster's own VPC; from Cloud VPN or Interconnect only once the VPC's routes are exported
    to that peering; and never from another peered VPC, because VPC peering is not transitive (Google Cloud,
    "Creating GKE private clusters with network proxies for controller access"). Ranges outside the subnetwork
    mlinfra creates are therefore a warning that names what the network must do.
    """
    if cluster.network is not None:
        return  # a brought network's ranges are not known offline
    subnet = ipaddress.ip_network(facts.CREATED_NODE_CIDR)
    for k, cidr in enumerate(cluster.endpoint.private_access_cidrs):
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            continue  # refused by the endpoint checks
        if net.version != subnet.version or not net.subnet_of(subnet):  # type: ignore[arg-type]
            yield Problem(path_join(base, "endpoint", "private_access_cidrs", k), cidr,
                          f"outside the cluster's subnetwork ({facts.CREATED_NODE_CIDR}): GKE's private endpoint is "
                          "never reached from a peered VPC (peering is not transitive), and over Cloud VPN or "
                          "Interconnect "
                          "only with custom routes exported to the control plane's peering; run the deployer "
                          "inside the cluster's VPC, or list its public egress in public_access_cidrs",
                          severity="warning")


def _on_demand_alternatives(gpu: str, gpus: int) -> list[str]:
    rows = catalog.gcp_machine_types_for(gpu)
    same = [m.name for m in rows if m.gpu_count == gpus and "on-demand" in facts.provisioning_models(m.name)]
    return same or [m.name for m in rows if "on-demand" in facts.provisioning_models(m.name)]


def check_pool(cluster: ClusterSpec, pool: PoolSpec, base: str) -> Iterator[Problem]:
    """Boot disk, provisioning model and zones of one GKE pool."""
    if cluster.cloud != "gcp":
        if pool.disk_type is not None:
            yield Problem(path_join(base, "disk_type"), pool.disk_type,
                          "disk_type is for GKE pools; EKS node groups boot from the image's gp3 volume")
        return
    resolved = resolve_pool(cluster, pool)
    machine = resolved.machine_type
    assert machine is not None
    allowed = facts.boot_disk_types(machine)
    if pool.disk_type is not None and allowed and pool.disk_type not in allowed:
        yield Problem(path_join(base, "disk_type"), pool.disk_type,
                      f"{machine} boots from {', '.join(allowed)} only; remove disk_type to get "
                      f"{facts.default_boot_disk(machine)}")
    models = facts.provisioning_models(machine)
    if not pool.spot and "on-demand" not in models:
        others = _on_demand_alternatives(resolved.gpu.name, resolved.gpus_per_node)
        yield Problem(path_join(base, "spot"), pool.spot,
                      f"Compute Engine does not offer {machine} on demand, only as {' or '.join(models)} VMs, so an "
                      f"on-demand pool never gets a node; set spot: true, or choose a machine type offered on "
                      f"demand: {', '.join(others) or 'none with this GPU'}")
    if not facts.zone_facts_known(machine):
        return
    offered = facts.machine_zones(machine, cluster.region)
    if not offered:
        regions = facts.machine_regions(machine)
        yield Problem(path_join(base, "machine_type"), machine,
                      f"{machine} is not offered in any zone of {cluster.region}; regions that offer it: "
                      f"{', '.join(regions)}")
        return
    for k, zone in enumerate(pool.zones):
        if zone.startswith(f"{cluster.region}-") and zone not in offered:
            yield Problem(path_join(base, "zones", k), zone,
                          f"{machine} is not offered in {zone}; zones of {cluster.region} that offer it: "
                          f"{', '.join(offered)}")


def check(env: EnvironmentSpec, today: dt.date | None = None) -> Iterator[Problem]:
    """Every GKE-specific check of the environment; `today` decides which versions are still creatable."""
    day = today or dt.date.today()
    for i, cluster in enumerate(env.clusters):
        base = path_join("clusters", i)
        if cluster.cloud == "gcp":
            yield from check_version(cluster, base, day)
            yield from check_network(cluster, base)
        for j, pool in enumerate(cluster.pools):
            yield from check_pool(cluster, pool, path_join(base, "pools", j))
