"""GCP: GKE clusters (created or referenced) and their GPU node pools."""

from mlinfra.gcp.cluster import GkeCluster, GkeClusterArgs, build_cluster

__all__ = ["GkeCluster", "GkeClusterArgs", "build_cluster"]
