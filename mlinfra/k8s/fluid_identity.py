"""Pure decisions for the caches' cloud identity: IRSA policies on EKS, Workload Identity names on GKE."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlinfra.checks.caches import IDENTITY_SCHEME
from mlinfra.k8s.fluid_objects import NAMESPACE, RUNTIME_SERVICE_ACCOUNT
from mlinfra.spec.caches import CacheSpec, MountSpec

SERVICE_ACCOUNT_SUBJECT = f"system:serviceaccount:{NAMESPACE}:{RUNTIME_SERVICE_ACCOUNT}"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
GKE_ANNOTATION = "iam.gke.io/gcp-service-account"


def identity_mounts(cloud: str, caches: list[CacheSpec]) -> list[MountSpec]:
    """Mounts of the cluster's caches that cloud identity must be able to read."""
    scheme = IDENTITY_SCHEME.get(cloud)
    return [m for c in caches if c.cloud_identity for m in c.mounts if m.scheme == scheme]


def s3_read_policy(mounts: list[MountSpec]) -> dict[str, Any]:
    """Read-only access to exactly the cached buckets and prefixes."""
    buckets = sorted({m.bucket for m in mounts})
    objects = sorted({f"arn:aws:s3:::{m.bucket}/{m.prefix + '/' if m.prefix else ''}*" for m in mounts})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListCachedBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{b}" for b in buckets],
            },
            {"Sid": "ReadCachedObjects", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": objects},
        ],
    }


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str) -> str:
    """Trust policy letting only the Fluid namespace's runtime service account assume the role (IRSA)."""
    issuer = oidc_issuer.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": SERVICE_ACCOUNT_SUBJECT,
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def gsa_account_id(environment: str, cluster: str) -> str:
    """The Google service account id (6-30 chars, starts with a letter) of a cluster's caches."""
    base = f"fluid-{environment}-{cluster}"
    if len(base) <= 30:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    return f"{base[:23].rstrip('-')}-{digest}"


def workload_identity_member(workload_pool: str) -> str:
    """The IAM member standing for the Fluid runtime's Kubernetes service account."""
    return f"serviceAccount:{workload_pool}[{NAMESPACE}/{RUNTIME_SERVICE_ACCOUNT}]"


def gcs_buckets(mounts: list[MountSpec]) -> list[str]:
    """The distinct GCS buckets to grant `roles/storage.objectViewer` on."""
    return sorted({m.bucket for m in mounts})
