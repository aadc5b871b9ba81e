"""Each cloud's regions, and the node-count bounds each cloud enforces on one pool; every fact with its source."""

from __future__ import annotations

from typing import Literal

Cloud = Literal["aws", "gcp"]

# AWS regions: the `Region` enum of the pinned AWS provider (pulumi_aws 7.51.1, `pulumi_aws/_enums.py`: "any
# valid Amazon region that may be targeted with deployments"), including the China, GovCloud and isolated
# partitions. tests/unit/test_regions.py compares this list with the installed provider's enum.
AWS_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1",
    "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
    "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "cn-north-1", "cn-northwest-1", "eusc-de-east-1", "us-gov-east-1", "us-gov-west-1", "us-iso-east-1",
    "us-iso-west-1", "us-isob-east-1", "us-isob-west-1", "eu-isoe-west-1", "us-isof-east-1", "us-isof-south-1",
)

# Google Cloud regions, from Google's location lists (https://cloud.google.com/compute/docs/regions-zones;
# cross-read on https://docs.cloud.google.com/infrastructure-manager/docs/locations, which lists asia-southeast3
# Bangkok and europe-north2 Stockholm, https://cloud.google.com/workload-manager/docs/evaluate/locations and
# https://cloud.google.com/memorystore/docs/redis/regions for africa-south1).
GCP_REGIONS: tuple[str, ...] = (
    "africa-south1",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1",
    "asia-south2", "asia-southeast1", "asia-southeast2", "asia-southeast3",
    "australia-southeast1", "australia-southeast2",
    "europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1", "europe-west2",
    "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9", "europe-west10",
    "europe-west12",
    "me-central1", "me-central2", "me-west1",
    "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
    "southamerica-east1", "southamerica-west1",
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3",
    "us-west4",
)

REGIONS: dict[Cloud, tuple[str, ...]] = {"aws": AWS_REGIONS, "gcp": GCP_REGIONS}

# Amazon EKS service quota "Nodes per managed node group" (L-BD136A63): default 450, adjustable through Service
# Quotas (https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html; the EKS API's
# NodegroupScalingConfig.maxSize points there for the largest value).
EKS_MANAGED_NODE_GROUP_MAX_NODES = 450

# GKE limit "Nodes per node pool zone": 1,000 (https://cloud.google.com/kubernetes-engine/quotas, a system limit).
GKE_NODES_PER_POOL_ZONE = 1000
# A node pool without node_locations runs in three zones of a regional cluster's region ("the default
# configuration ... replicates each node pool across three zones of the control plane's region",
# https://cloud.google.com/kubernetes-engine/docs/concepts/regional-clusters).
GKE_DEFAULT_POOL_ZONES = 3


def cloud_of_region(region: str) -> Cloud | None:
    """The cloud whose region list holds `region`, or None."""
    for cloud, names in REGIONS.items():
        if region in names:
            return cloud
    return None
