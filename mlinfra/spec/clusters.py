"""Clusters: where the pools and add-ons live, created by mlinfra or referenced."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from mlinfra.catalog import eks as eks_catalog
from mlinfra.spec.base import Name, SpecModel
from mlinfra.spec.gpu_operator import GpuOperatorSpec
from mlinfra.spec.pools import PoolSpec


class ExistingCluster(SpecModel):
    """A cluster mlinfra does not create: it only installs add-ons and (on GKE/EKS) adds node pools."""

    name: str = Field(description="The cloud's name of the cluster.")
    kubeconfig_secret: str = Field(
        description="Key of the stack's secret config value (`mlinfra:<key>`) that holds the kubeconfig."
    )


class AwsNetwork(SpecModel):
    """The existing VPC an EKS cluster and its nodes live in.

    A platform joins the organisation's network rather than inventing one, so mlinfra references an
    existing VPC and its private subnets (in at least two availability zones, as EKS requires).
    """

    vpc_id: str = Field(description="ID of the VPC (`vpc-...`).")
    subnet_ids: list[str] = Field(
        min_length=2,
        description="Private subnets for the control-plane ENIs and the nodes, in two or more availability zones.",
    )


class GcpNetwork(SpecModel):
    """An existing VPC network a GKE cluster joins, instead of the one mlinfra creates for it.

    The network must provide, in the cluster's project:
    - a subnetwork in the cluster's region with private Google access on;
    - two secondary IP ranges on that subnetwork, one for pods and one for services (VPC-native cluster);
    - egress for the private nodes to pull images from registries outside Google (nvcr.io, registry.k8s.io,
      quay.io, docker.io): a Cloud Router with Cloud NAT for the region, or an equivalent gateway;
    - room for the control plane's `master_cidr` (a /28 that overlaps none of the subnetwork's ranges).
    mlinfra adds one firewall rule to it: the control plane to the nodes, on the add-ons' webhook ports.
    Networks of another project (Shared VPC) are not supported.
    """

    network: str = Field(description="Name of the VPC network.")
    subnetwork: str = Field(description="Name of the subnetwork, in the cluster's region.")
    pods_range: str = Field(description="Name of the subnetwork's secondary range for pod IPs.")
    services_range: str = Field(description="Name of the subnetwork's secondary range for service IPs.")


def _network_kind(value: Any) -> str:
    # EKS networks are named by VPC and subnet IDs; anything else is read as a GKE network, so a typo
    # is reported against the fields of the network the user meant.
    if isinstance(value, dict):
        return "aws-network" if {"vpc_id", "subnet_ids"} & set(value) else "gcp-network"
    return "aws-network" if isinstance(value, AwsNetwork) else "gcp-network"


# The tags name the branch in pydantic's error locations; the spec loader drops them from problem paths.
NETWORK_TAGS = ("aws-network", "gcp-network")
NetworkSpec = Annotated[
    Annotated[AwsNetwork, Tag("aws-network")] | Annotated[GcpNetwork, Tag("gcp-network")],
    Discriminator(_network_kind),
]


class EndpointAccess(SpecModel):
    """Who deploys to a created cluster, and from where: the paths to its Kubernetes API endpoint.

    `pulumi up` talks to the API server right after creating the cluster, so the machines that run it (laptops
    behind a VPN, a hosted CI runner, a runner inside the VPC) must have a path to the endpoint. Two kinds:

    - `public_access_cidrs`: deployers' public egress ranges. Non-empty turns the public endpoint on, limited
      to exactly these ranges (EKS `publicAccessCidrs`; GKE master authorized networks).
    - `private_access_cidrs`: deployers inside the VPC or a connected network (peered VPC, VPN, Direct
      Connect / Interconnect) reaching the private endpoint. On EKS the cluster security group admits each on
      TCP 443; on GKE each becomes a master authorized network, reachable from the cluster's own VPC, and over
      Cloud VPN or Interconnect once routes are exported to the control plane's peering, never from a peered
      VPC (checks/gke.py warns).

    Nodes always reach the private endpoint from inside the VPC; these lists are for people and pipelines.
    """

    private: bool = Field(default=True, description="Private endpoint inside the VPC. Default: on.")
    public_access_cidrs: list[str] = Field(
        default_factory=list,
        description="Public CIDRs of the deployers (VPN egress, hosted CI runner egress) allowed to reach the "
        "public endpoint; non-empty turns it on, limited to exactly these. Ranges that together cover the "
        "whole internet are refused. Default: none (no public endpoint).",
    )
    private_access_cidrs: list[str] = Field(
        default_factory=list,
        description="Private CIDRs of deployers in the VPC or a connected network (peering, VPN, Direct "
        "Connect/Interconnect) allowed to reach the private endpoint on 443. Default: none.",
    )


ControlPlaneLog = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
# The API server and the audit trail, plus the authenticator for who-was-who with IAM (what CIS asks for).
DEFAULT_CONTROL_PLANE_LOGS: tuple[ControlPlaneLog, ...] = ("api", "audit", "authenticator")


# Karpenter's `amiSelectorTerms.alias` takes "family@version", the version in the image's own release format
# ("al2023@v20240625", "bottlerocket@v1.10.0": EC2NodeClass CRD v1.14.1) and at most 30 characters in all, so each
# family has its own pin and pattern. Bounded repeats keep `bottlerocket@<version>` within those 30 characters.
AMI_RELEASE_PATTERN = r"^(latest|v\d{8})$"
BOTTLEROCKET_RELEASE_PATTERN = r"^(latest|v\d{1,3}\.\d{1,3}\.\d{1,3})$"
# The KarpenterSpec field that pins each node image family's release.
KARPENTER_IMAGE_PINS: dict[str, str] = {"al2023": "ami_version", "bottlerocket": "bottlerocket_version"}


def release_pattern_hint(pattern: str) -> str | None:
    """What a release pin that fails `pattern` must look like, with a confirmed release from the catalog; None for
    another pattern."""
    if pattern == AMI_RELEASE_PATTERN:
        example = eks_catalog.suggested_release("al2023", eks_catalog.DEFAULT_KUBERNETES_VERSION)
        return (f"not an EKS AMI release: use `latest` or a tag vYYYYMMDD such as {example} (a Bottlerocket "
                "release v<major>.<minor>.<patch> goes in karpenter.bottlerocket_version)")
    if pattern == BOTTLEROCKET_RELEASE_PATTERN:
        example = eks_catalog.suggested_release("bottlerocket", eks_catalog.DEFAULT_KUBERNETES_VERSION)
        return (f"not a Bottlerocket release: use `latest` or a tag v<major>.<minor>.<patch> such as {example} "
                "(an EKS AMI release vYYYYMMDD goes in karpenter.ami_version)")
    return None


class KarpenterSpec(SpecModel):
    """How Karpenter runs on an EKS cluster that has `provisioner: karpenter` pools."""

    interruption_queue: bool = Field(
        default=True,
        description="Create the SQS queue and EventBridge rules for spot interruption, rebalance, instance "
        "state and scheduled-change events, and point Karpenter at it. Default: on.",
    )
    consolidate_after: str = Field(
        default="10m",
        description="How long a node stays empty or underused before Karpenter removes it (`30s`, `10m`, `1h`, "
        "`Never`). Default: 10m.",
    )
    expire_after: str = Field(
        default="720h", description="Nodes are replaced after this age (`Never` keeps them). Default: 720h."
    )
    ami_version: str = Field(
        default="latest",
        pattern=AMI_RELEASE_PATTERN,
        description="EKS-optimized AMI release (`vYYYYMMDD`, an awslabs/amazon-eks-ami tag) the node classes of "
        "AL2023 pools select: the `al2023@<release>` alias, or with `gpu_operator.driver: operator` the "
        "release's standard image by its SSM parameter. Pin it where node images must change only through a "
        "reviewed diff; with `latest`, Karpenter rolls nodes onto each new AWS release (patched, but outside the "
        "preview). With an AL2023 Karpenter pool, `latest` is refused in an environment named prod and warned "
        "about elsewhere (Karpenter docs recommend pinning in production). Default: latest.",
    )
    bottlerocket_version: str = Field(
        default="latest",
        pattern=BOTTLEROCKET_RELEASE_PATTERN,
        description="Bottlerocket release (`v<major>.<minor>.<patch>`, a bottlerocket-os/bottlerocket tag) the "
        "node classes of `ami_family: bottlerocket` pools select through the `bottlerocket@<release>` alias; "
        "Bottlerocket numbers its releases apart from EKS AMI dates, so it has a pin of its own. With a "
        "Bottlerocket Karpenter pool, `latest` is refused in an environment named prod and warned about "
        "elsewhere. Default: latest.",
    )
    termination_grace_period: str = Field(
        default="24h",
        description="NodePool `terminationGracePeriod`: how long a draining GPU node waits for its pods (a "
        "training job checkpointing) before Karpenter removes it anyway; a duration (`1h`, `24h`), never `Never`, "
        "which the NodePool CRD refuses. Default: 24h.",
    )


class ClusterSpec(SpecModel):
    """One Kubernetes cluster on AWS (EKS) or GCP (GKE)."""

    name: Name
    cloud: Literal["aws", "gcp"]
    region: str
    project: str | None = Field(default=None, description="GCP project (GCP only). Default: the provider's.")
    kubernetes_version: str | None = Field(
        default=None,
        description="Control-plane version (`1.35`). EKS: a version of the catalog's release calendar; one in "
        "extended support is warned about (refused in prod). Default: EKS the newest version in standard "
        "support (catalog/eks.py); GKE the release channel's version.",
    )
    existing: ExistingCluster | None = Field(
        default=None, description="Reference an existing cluster instead of creating one. Default: create."
    )
    scheduler: Literal["kueue", "volcano", "none"] = Field(
        default="kueue", description="Batch scheduler installed on the cluster. Default: Kueue."
    )
    network: NetworkSpec | None = Field(
        default=None,
        description="AWS: the VPC and subnets (required for created EKS clusters). GCP: an existing VPC network, "
        "subnetwork and secondary ranges to join (see GcpNetwork for what it must provide). Default: none on AWS; "
        "on GCP a VPC network mlinfra creates for the cluster (subnetwork with pod and service ranges, private "
        "Google access, Cloud Router and Cloud NAT).",
    )
    endpoint: EndpointAccess = Field(
        default_factory=lambda: EndpointAccess(),
        description="Who deploys to a created cluster and from where (its API endpoint access). A created "
        "cluster must list at least one deployer range. Default: private endpoint, no deployer ranges.",
    )
    control_plane_logs: list[ControlPlaneLog] = Field(
        default_factory=lambda: list(DEFAULT_CONTROL_PLANE_LOGS),
        description="EKS control-plane log types sent to CloudWatch. Default: api, audit, authenticator.",
    )
    karpenter: KarpenterSpec = Field(
        default_factory=lambda: KarpenterSpec(),
        description="Karpenter settings (AWS, used when a pool has `provisioner: karpenter`). Default: "
        "interruption queue on, consolidate after 10m, expire after 720h.",
    )
    master_cidr: str = Field(
        default="172.16.0.0/28",
        description="GKE control plane's private /28 range (GCP, created clusters). Default: 172.16.0.0/28.",
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = Field(
        default="REGULAR", description="GKE release channel (GCP, created clusters). Default: REGULAR."
    )
    pools: list[PoolSpec] = Field(default_factory=list)
    gpu_operator: GpuOperatorSpec = Field(default_factory=lambda: GpuOperatorSpec())
