"""Clusters: where the pools and add-ons live, created by mlinfra or referenced."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlinfra.spec.base import Name, SpecModel
from mlinfra.spec.gpu_operator import GpuOperatorSpec
from mlinfra.spec.pools import PoolSpec


class ExistingCluster(SpecModel):
    """A cluster mlinfra does not create: it only installs add-ons and (on GKE/EKS) adds node pools."""

    name: str = Field(description="The cloud's name of the cluster.")
    kubeconfig_secret: str = Field(
        description="Key of the stack's secret config value (`mlinfra:<key>`) that holds the kubeconfig."
    )


class ClusterSpec(SpecModel):
    """One Kubernetes cluster on AWS (EKS) or GCP (GKE)."""

    name: Name
    cloud: Literal["aws", "gcp"]
    region: str
    project: str | None = Field(default=None, description="GCP project (GCP only). Default: the provider's.")
    kubernetes_version: str = Field(default="1.33", description="Control-plane version. Default: 1.33.")
    existing: ExistingCluster | None = Field(
        default=None, description="Reference an existing cluster instead of creating one. Default: create."
    )
    scheduler: Literal["kueue", "volcano", "none"] = Field(
        default="kueue", description="Batch scheduler installed on the cluster. Default: Kueue."
    )
    pools: list[PoolSpec] = Field(default_factory=list)
    gpu_operator: GpuOperatorSpec = Field(default_factory=lambda: GpuOperatorSpec())
