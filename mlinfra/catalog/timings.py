"""How long `pulumi up` typically takes to create each kind of resource, in minutes, each with its source.

The critical path in the render summary (`mlinfra.offline.critical_path`) adds these up along the dependency
graph. Most numbers are estimates: the clouds publish no creation-time guarantees, and a Helm release with
`wait` takes as long as its slowest Deployment takes to become ready (image pulls, leader election). Each
entry says whether it is an estimate and what it rests on; change a number only with a better source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Typical minutes to create one resource, where the number comes from, and whether it is an estimate."""

    minutes: float
    source: str
    estimate: bool = True


# Helm releases wait for every resource of the chart to be ready (pulumi-kubernetes helm.v3.Release: "By default,
# the provider waits until all resources are in a ready state", `timeout` 300 s per operation by default).
_HELM_WAIT = "pulumi-kubernetes helm.v3.Release docs (skipAwait false: waits until all resources are ready)"

BY_TYPE: dict[str, Timing] = {
    "aws:eks/cluster:Cluster": Timing(
        12.0, "aws/containers-roadmap#1227 (control plane provisioning averaged 15 min, being reduced); AWS "
              "CreateCluster API reference ('several minutes'); estimate: 10-15 min"),
    "aws:eks/nodeGroup:NodeGroup": Timing(
        4.0, "estimate: 3-5 min for a managed node group to launch and join its nodes (AWS EKS user guide, "
             "managed node groups; Terraform aws_eks_node_group allows 60 min by default)"),
    "gcp:container/cluster:Cluster": Timing(
        8.0, "estimate: 5-10 min for a regional GKE Standard cluster with its default pool (GKE docs: cluster "
             "creation 'can take several minutes'; DevSecOpsSamples/gke-workload-identity README: ~7 min)"),
    "gcp:container/nodePool:NodePool": Timing(
        4.0, "estimate: 3-5 min for a node pool (GKE container API nodePools.create is a long-running operation)"),
    "aws:eks/addon:Addon": Timing(
        1.0, "estimate: about a minute; the provider does not return after CreateAddon but waits until the "
             "add-on is ACTIVE, polling through CREATING and DEGRADED (hashicorp/terraform-provider-aws "
             "internal/service/eks/addon.go: resourceAddonCreate -> waitAddonCreated, create timeout 20 min), "
             "so CoreDNS counts until its pods are ready on the nodes"),
    "aws:kms/key:Key": Timing(0.2, "estimate: seconds (one KMS API call)"),
    "aws:sqs/queue:Queue": Timing(
        1.0, "estimate: the AWS provider waits for a new queue's attributes to propagate, up to about a minute "
             "(AWS SQS docs: a new queue can take up to a minute to be available)"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Timing(0.2, "estimate: seconds (one IAM API call)"),
    "gcp:serviceaccount/account:Account": Timing(0.2, "estimate: seconds (one IAM API call)"),
}

# Helm releases by chart: the chart's Deployments and DaemonSets becoming ready. All estimates.
BY_CHART: dict[str, Timing] = {
    "kube-prometheus-stack": Timing(3.0, f"estimate: operator, Prometheus, Grafana, kube-state-metrics, node "
                                         f"exporter and the admission webhook job; {_HELM_WAIT}"),
    "prometheus-adapter": Timing(1.0, f"estimate: one Deployment; {_HELM_WAIT}"),
    "gpu-operator": Timing(2.0, f"estimate: the operator and node-feature-discovery; the driver and device plugin "
                                f"DaemonSets come later from the operator, outside the release; {_HELM_WAIT}"),
    "kueue": Timing(1.5, f"estimate: the controller Deployment and its webhook certificate; {_HELM_WAIT}"),
    "volcano": Timing(2.0, f"estimate: scheduler, controllers and admission webhook; {_HELM_WAIT}"),
    "fluid": Timing(2.0, f"estimate: controllers, webhook and CSI plugin; {_HELM_WAIT}"),
    "karpenter": Timing(1.5, f"estimate: the controller Deployment; {_HELM_WAIT}"),
}
HELM_DEFAULT = Timing(2.0, f"estimate for a chart not listed; {_HELM_WAIT}")

# Everything else the platform creates is one API call: IAM roles, policies and members (IAM is eventually
# consistent within seconds), launch templates, tags, Kubernetes objects without await logic.
API_CALL = Timing(0.1, "estimate: a few seconds (one API call, no await)")
KUBERNETES_OBJECT = Timing(0.05, "estimate: a few seconds (one Kubernetes API call; pulumi-kubernetes awaits "
                                 "readiness only for workloads, Services, Ingresses and PVCs)")
NOTHING = Timing(0.0, "components and providers create nothing in the cloud", estimate=False)
WORKLOAD = Timing(1.0, "estimate: pulumi-kubernetes waits for a Deployment, StatefulSet or DaemonSet to be ready "
                       "(its rollout await logic); about a minute on nodes that exist")
_WORKLOAD_KINDS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
                   "kubernetes:apps/v1:DaemonSet")


def creation_time(type_: str, inputs: dict[str, object] | None = None) -> Timing:
    """Typical creation time of a resource of `type_` (a Helm release by its chart, from `inputs`)."""
    if type_.startswith("mlinfra:") or type_.startswith("pulumi:"):
        return NOTHING
    if type_ == "kubernetes:helm.sh/v3:Release":
        chart = str((inputs or {}).get("chart") or "").rsplit("/", 1)[-1]
        return BY_CHART.get(chart, HELM_DEFAULT)
    if type_ in BY_TYPE:
        return BY_TYPE[type_]
    if type_ in _WORKLOAD_KINDS:
        return WORKLOAD
    if type_.startswith("kubernetes:"):
        return KUBERNETES_OBJECT
    return API_CALL
