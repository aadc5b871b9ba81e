"""GKE and Compute Engine lookups: versions, boot disks, provisioning models and zones per machine type.

The facts and their sources live in `_gke_data`; these functions answer the questions the checks and the
GKE components ask. Nothing here imports a cloud SDK.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mlinfra.catalog import _gke_data

PROVISIONING_MODELS = ("on-demand", "spot", "flex-start")


@dataclass(frozen=True)
class GkeVersion:
    """A GKE minor version and the day it reaches end of life (no new clusters from then on)."""

    minor: str
    end_of_life: dt.date

    def supported_on(self, day: dt.date) -> bool:
        """Whether a cluster of this version can still be created on `day`."""
        return day < self.end_of_life


GKE_VERSIONS: dict[str, GkeVersion] = {
    minor: GkeVersion(minor, dt.date.fromisoformat(eol)) for minor, eol in _gke_data.GKE_VERSIONS
}


def minor_version(version: str) -> str:
    """`1.35` of `1.35`, `1.35.8` or `1.35.8-gke.1225000`."""
    return ".".join(version.split("-", 1)[0].split(".")[:2])


def supported_gke_versions(day: dt.date) -> list[str]:
    """GKE minor versions a cluster can be created with on `day`, oldest first."""
    return [v.minor for v in GKE_VERSIONS.values() if v.supported_on(day)]


def _boot_disks(machine_type: str) -> tuple[tuple[str, ...], str] | None:
    # The first matching prefix wins: `a3-ultragpu-` is listed before `a3-`.
    for prefix, allowed, default in _gke_data.BOOT_DISKS:
        if machine_type.startswith(prefix):
            return allowed, default
    return None


def boot_disk_types(machine_type: str) -> tuple[str, ...]:
    """Boot disk types the machine type's series accepts (empty when the catalog does not know the series)."""
    found = _boot_disks(machine_type)
    return found[0] if found else ()


def default_boot_disk(machine_type: str) -> str:
    """The boot disk mlinfra gives a machine type: pd-balanced, or hyperdisk-balanced on Hyperdisk-only series."""
    found = _boot_disks(machine_type)
    return found[1] if found else "pd-balanced"


_NOT_ON_DEMAND = dict(_gke_data.NOT_ON_DEMAND)


def provisioning_models(machine_type: str) -> tuple[str, ...]:
    """Provisioning models Compute Engine offers for the machine type (`on-demand`, `spot`, `flex-start`)."""
    return _NOT_ON_DEMAND.get(machine_type, ("on-demand", "spot", "flex-start"))


_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    prefix: {region: tuple(f"{region}-{s}" for s in suffixes) for region, suffixes in regions}
    for prefix, regions in _gke_data.ZONES
}


def zone_facts_known(machine_type: str) -> bool:
    """Whether the catalog records the zones of the machine type's series."""
    return any(machine_type.startswith(prefix) for prefix in _ZONES)


def machine_zones(machine_type: str, region: str) -> tuple[str, ...]:
    """Zones of `region` that offer the machine type, sorted; empty when none does or the series is unknown."""
    for prefix, regions in _ZONES.items():
        if machine_type.startswith(prefix):
            return regions.get(region, ())
    return ()


def machine_regions(machine_type: str) -> list[str]:
    """Regions with at least one zone that offers the machine type (for suggestions)."""
    for prefix, regions in _ZONES.items():
        if machine_type.startswith(prefix):
            return sorted(regions)
    return []


__all__ = [
    "GKE_VERSIONS",
    "MANAGED_NAMESPACES",
    "PROVISIONING_MODELS",
    "GkeVersion",
    "boot_disk_types",
    "default_boot_disk",
    "machine_regions",
    "machine_zones",
    "minor_version",
    "provisioning_models",
    "supported_gke_versions",
    "zone_facts_known",
]

# Namespaces GKE itself creates and manages on every cluster with Managed Service for Prometheus (managed
# collection, on by default): `gmp-system` runs its collectors ("do not modify or deploy anything in this
# namespace") and `gmp-public` holds its OperatorConfig (Google Cloud, "Set up managed data collection with
# Managed Service for Prometheus": cloud.google.com/kubernetes-engine/multi-cloud/docs/azure/how-to/
# managed-service-prometheus, and the GKE page of the same name). A team namespace must not be one of them.
MANAGED_NAMESPACES = ("gmp-system", "gmp-public")

# The primary range of the subnetwork mlinfra creates for a GKE cluster's nodes (a /20, 4,096 addresses, the size
# GKE picks for VPC-native clusters). Kept here, beside the other GKE facts, so the spec checks can tell whether
# a private deployer range lies inside the cluster's own VPC without importing Pulumi.
CREATED_NODE_CIDR = "10.0.0.0/20"
