"""AWS: EKS clusters (created or referenced), managed GPU node groups and Karpenter."""

from mlinfra.aws.cluster import EksCluster, EksClusterArgs, build_cluster

__all__ = ["EksCluster", "EksClusterArgs", "build_cluster"]
