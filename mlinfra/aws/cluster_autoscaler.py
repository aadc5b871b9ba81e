"""cluster-autoscaler on EKS: scales the managed GPU node groups, from zero, found by the tags EKS puts on their
Auto Scaling groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlinfra.catalog import eks as eks_catalog
from mlinfra.catalog import versions
from mlinfra.catalog.versions import ChartPin
from mlinfra.k8s.helm import pinned_release

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"


def image_tag(kubernetes_version: str) -> str:
    """The cluster-autoscaler release for a cluster: its minor must match the cluster's Kubernetes minor
    (kubernetes/autoscaler cluster-autoscaler/README.md, "Releases")."""
    tag = eks_catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS.get(kubernetes_version)
    if tag is None:
        raise ValueError(f"no cluster-autoscaler release pinned for Kubernetes {kubernetes_version}; pinned: "
                         f"{', '.join(eks_catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS)}")
    return tag


def helm_values(cluster_name: pulumi.Input[str], region: str, kubernetes_version: str) -> dict[str, Any]:
    """Values of the cluster-autoscaler chart (keys from its values.yaml at cluster-autoscaler-chart-9.59.0).

    - `autoDiscovery.clusterName`: the chart's default tags `k8s.io/cluster-autoscaler/enabled` and
      `k8s.io/cluster-autoscaler/<cluster>`, which EKS puts on every managed node group's ASG;
      scale from zero reads the `k8s.io/cluster-autoscaler/node-template/*` tags `node_group.py` writes.
    - `balance-similar-node-groups`: a pool spread over several groups (zones) grows evenly.
    - `expander: least-waste,random`: of the groups that fit a pending pod, the one leaving the least CPU and
      memory idle, i.e. the smallest GPU node that fits, never a p5.48xlarge for a one-GPU job; ties at random
      (cluster-autoscaler FAQ, "What are Expanders?"; chained expanders since 1.23).
    - `skip-nodes-with-local-storage: false`: GPU pods mount emptyDir scratch space; with the default (true) a
      node running one would never scale down, and idle GPU nodes are the most expensive kind.
    - `scale-down-unneeded-time: 10m`, the default, kept explicit beside Karpenter's consolidate_after.
    """
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"repository": IMAGE_REPOSITORY, "tag": image_tag(kubernetes_version)},
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        "extraArgs": {
            "balance-similar-node-groups": True,
            "expander": "least-waste,random",
            "skip-nodes-with-local-storage": False,
            "scale-down-unneeded-time": "10m",
        },
    }


@dataclass
class ClusterAutoscalerArgs:
    """Inputs of `ClusterAutoscaler`."""

    cluster_name: pulumi.Input[str]
    region: str
    kubernetes_version: str = eks_catalog.DEFAULT_KUBERNETES_VERSION
    chart: ChartPin = field(default_factory=lambda: versions.CLUSTER_AUTOSCALER)


class ClusterAutoscaler(pulumi.ComponentResource):
    """cluster-autoscaler with its own role (EKS Pod Identity) holding the upstream auto-discovery policy,
    its writes limited to this cluster's ASGs. Needs `providers={"aws": ..., "kubernetes": ...}`."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:aws:ClusterAutoscaler", name, None, opts)
        from pulumi_aws import eks, iam

        from mlinfra.aws.karpenter import POD_IDENTITY_TRUST

        child = pulumi.ResourceOptions(parent=self)
        self.role = iam.Role(f"{name}-role", assume_role_policy=POD_IDENTITY_TRUST, opts=child)
        policy = iam.RolePolicy(
            f"{name}-policy", role=self.role.id,
            policy=pulumi.Output.from_input(args.cluster_name).apply(eks_catalog.cluster_autoscaler_policy),
            opts=child)
        association = eks.PodIdentityAssociation(
            f"{name}-pod-identity", cluster_name=args.cluster_name, namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT, role_arn=self.role.arn, opts=child)
        self.release = pinned_release(
            f"{name}-release", "cluster-autoscaler", args.chart, NAMESPACE,
            helm_values(args.cluster_name, args.region, args.kubernetes_version),
            pulumi.ResourceOptions(parent=self, depends_on=[policy, association]))
        self.register_outputs({"role_arn": self.role.arn})
