"""EKS facts: Kubernetes versions and their support dates, managed add-ons, AWS-managed IAM policies, Karpenter's
controller policy and interruption events, and the cluster-autoscaler's policy, each with its source."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal


@dataclass(frozen=True)
class EksVersion:
    """One EKS Kubernetes minor version: standard support for 14 months after release, then 12 months extended
    (billed at the extended-support rate), then an automatic upgrade."""

    version: str
    released: date
    end_of_standard: date
    end_of_extended: date

    def support(self, today: date) -> Literal["standard", "extended", "ended"]:
        """Which support period `today` falls in."""
        if today <= self.end_of_standard:
            return "standard"
        if today <= self.end_of_extended:
            return "extended"
        return "ended"


# Source: EKS user guide, "Understand the Kubernetes version lifecycle on EKS", release calendar
# (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar): 1.31 to
# 1.34 as awsdocs/amazon-eks-user-guide@01385604 latest/ug/versioning/kubernetes-versions.adoc lists them; 1.35 and
# 1.36 as endoflife-date/endoflife.date@a70eca33 products/amazon-eks.md reads them from that calendar table (1.36
# added by endoflife.date#10240 on 2026-06-05; EKS release notes, "Kubernetes 1.36 is now available in Amazon EKS",
# 2026-06-02). Every row keeps the guide's rule: standard support 14 months from the EKS release, extended 12 more.
EKS_VERSIONS: dict[str, EksVersion] = {v.version: v for v in (
    EksVersion("1.31", date(2024, 9, 26), date(2025, 11, 26), date(2026, 11, 26)),
    EksVersion("1.32", date(2025, 1, 23), date(2026, 3, 23), date(2027, 3, 23)),
    EksVersion("1.33", date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    EksVersion("1.34", date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    EksVersion("1.35", date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
    EksVersion("1.36", date(2026, 6, 2), date(2027, 8, 2), date(2028, 8, 2)),
)}
# The default, in standard support until 2027-03-27. Not the newest: moving it upgrades the control plane of every
# cluster that leaves kubernetes_version unset, so it moves in a change of its own, reviewed with the add-ons'
# support for the new minor.
DEFAULT_KUBERNETES_VERSION = "1.35"

# EKS-optimized AMI releases (awslabs/amazon-eks-ami tags, `vYYYYMMDD`) whose AL2023 images are confirmed, with the
# Kubernetes minors each ships them for; the release a Karpenter node class pins (`karpenter.ami_version`,
# `al2023@<release>`) must ship images for the cluster's minor. Source: awslabs/amazon-eks-ami@81fec2e8 CHANGELOG.md,
# "AMI Release v20260714": amazon-eks-node-al2023-{x86_64,arm64}-{standard,nvidia}-<minor>-v20260714 for 1.30 to
# 1.36. That repository's newest tag is v20260724, whose AMI list no stored source gives; v20260818 appears in no
# stored source of that repository.
EKS_AMI_RELEASES: dict[str, tuple[str, ...]] = {
    "v20260714": ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36"),
}

# Bottlerocket releases (bottlerocket-os/bottlerocket tags, `v<major>.<minor>.<patch>`) with the Kubernetes minors
# each ships an `aws-k8s-<minor>-nvidia` variant for; the release a Bottlerocket Karpenter node class pins
# (`karpenter.bottlerocket_version`, `bottlerocket@<release>`) must ship that variant for the cluster's minor:
# Karpenter resolves the alias to /aws/service/bottlerocket/aws-k8s-<minor>-nvidia/<arch>/<release without v>/
# image_id for GPU instance types (aws/karpenter-provider-aws@v1.14.1 pkg/providers/amifamily/bottlerocket.go).
# Sources, each a bottlerocket-os/bottlerocket release changelog: the nvidia variants of 1.31 were added in v1.22.0,
# 1.32 in v1.30.0 (#4318), 1.33 in v1.39.0 (#4515), 1.34 in v1.47.0 (#4640), 1.35 in v1.53.0 (#4737), 1.36 in
# v1.61.0 (#4841); v1.64.0 (#4896, released 2026-08-05 as #4895 records) removed the 1.30 variants (#4880), as
# Bottlerocket drops a minor's variants when EKS ends its extended support (#4879), which for 1.31 is 2026-11-26.
# Newer tags (v1.65.0, v1.66.0) have changelogs but no stored source confirms their published images.
BOTTLEROCKET_RELEASES: dict[str, tuple[str, ...]] = {
    "v1.64.0": ("1.31", "1.32", "1.33", "1.34", "1.35", "1.36"),
}


def _release_order(release: str) -> tuple[int, ...]:
    """Sort key of a release tag: `v20260714` -> (20260714,), `v1.64.0` -> (1, 64, 0)."""
    return tuple(int(part) for part in release.lstrip("v").split("."))


def node_image_releases(family: str) -> dict[str, tuple[str, ...]]:
    """The confirmed releases of a Karpenter node image family (`al2023`, `bottlerocket`) and the Kubernetes minors
    each ships GPU images for. Raises KeyError for another family."""
    return {"al2023": EKS_AMI_RELEASES, "bottlerocket": BOTTLEROCKET_RELEASES}[family]


def suggested_release(family: str, kubernetes_version: str) -> str:
    """The newest confirmed release of `family` that ships GPU images for `kubernetes_version`; the newest of all
    when none does (the version itself is then refused by the version check)."""
    releases = node_image_releases(family)
    shipping = [r for r, minors in releases.items() if kubernetes_version in minors]
    return max(shipping or releases, key=_release_order)

# EKS add-ons every cluster gets, at the default version EKS names for the cluster's Kubernetes version
# (DescribeAddonVersions, `defaultVersion`; pulumi_aws `eks.get_addon_version` with most_recent false). The
# default is the version EKS validated for that Kubernetes minor, so a version upgrade moves the add-ons with it
# and no release outside EKS's matrix is ever picked. Source: EKS user guide, "Amazon EKS add-ons" (vpc-cni,
# coredns, kube-proxy, eks-pod-identity-agent, aws-ebs-csi-driver); terraform-aws-eks `cluster_addons`.
CORE_ADDONS: tuple[str, ...] = ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent")
EBS_CSI_ADDON = "aws-ebs-csi-driver"
# The EBS CSI controller's service account (the add-on's own; EKS user guide, "Store Kubernetes volumes with
# Amazon EBS", IRSA role trust: system:serviceaccount:kube-system:ebs-csi-controller-sa).
EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"

# AWS-managed policies (arn:aws:iam::aws:policy/...).
NODE_POLICIES: tuple[str, ...] = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    # Session Manager access to debug GPU nodes without SSH (terraform-aws-eks node groups; the Karpenter
    # v1.14.1 CloudFormation template's KarpenterNodeRole).
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"


def cluster_encryption_policy(key_arn: str) -> str:
    """The cluster role's policy on the KMS key that envelope-encrypts its Secrets: kms:Encrypt, kms:Decrypt,
    kms:ListGrants and kms:DescribeKey on that key only.

    AmazonEKSClusterPolicy only reads a key (awsdocs/amazon-eks-user-guide
    latest/ug/security/iam-reference/security-iam-awsmanpol.adoc: "kms – Read a key from AWS KMS"), yet EKS acts on
    the key as the cluster role (its health checks call kms:ListGrants as that role and are refused without this
    policy: terraform-aws-eks#1913). Source: terraform-aws-modules/terraform-aws-eks@v21.19.0 main.tf,
    `aws_iam_policy.cluster_encryption` ("<role>-ClusterEncryption"), attached to the cluster role whenever
    `encryption_config` is set, scoped to the key's ARN. The key keeps KMS's default key policy (the account may
    delegate through IAM), so this policy is what lets the role use it."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ClusterEncryption", "Effect": "Allow", "Resource": key_arn,
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]},
    ]}, sort_keys=True)
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"

# terraform-aws-eks `cloudwatch_log_group_retention_in_days` default; the group EKS writes to is
# /aws/eks/<cluster>/cluster (EKS user guide, "Send control plane logs to CloudWatch Logs").
CONTROL_PLANE_LOG_RETENTION_DAYS = 90


def control_plane_log_group(cluster_name: str) -> str:
    """The CloudWatch log group EKS sends a cluster's control-plane logs to."""
    return f"/aws/eks/{cluster_name}/cluster"


# EventBridge patterns Karpenter handles, exactly the rules of the v1.14.1 CloudFormation template
# (aws/karpenter-provider-aws@v1.14.1 website/content/en/docs/getting-started/getting-started-with-karpenter/
# cloudformation.yaml: ScheduledChangeRule, SpotInterruptionRule, RebalanceRule, InstanceStateChangeRule,
# CapacityReservationInterruptionRule).
KARPENTER_INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"]},
}

# Physical names of those rules: a fixed prefix per rule, to which the provider appends a unique 26-character
# suffix (terraform-aws-modules/terraform-aws-eks@v21.19.0 modules/karpenter/main.tf: `name_prefix =
# "${var.rule_name_prefix}${each.value.name}-"`, rule_name_prefix "Karpenter", names HealthEvent, SpotInterrupt,
# InstanceRebalance, InstanceStateChange, CRInterruption). Names derived from the resource name do not fit:
# EventBridge rule names have at most 64 characters, and pulumi-aws autonames `<resource name>-<7 random>` and
# refuses ("plus 7 random chars is longer than maximum length 64") a longer one (pulumi/pulumi-aws
# provider/resource_overrides.go: aws_cloudwatch_event_rule `AutoName("name", 64, "-")`;
# pulumi/pulumi sdk/go/common/resource NewUniqueHex), so `<cluster>-karpenter-capacity-reservation-interruption`
# failed `pulumi up` for every cluster name over 12 characters. A prefix may have 38 characters (pulumi-aws
# cloudwatch.EventRule `name_prefix`: "must be 38 characters or less").
KARPENTER_INTERRUPTION_RULE_PREFIXES: dict[str, str] = {
    "scheduled-change": "KarpenterHealthEvent-",
    "spot-interruption": "KarpenterSpotInterrupt-",
    "rebalance": "KarpenterInstanceRebalance-",
    "instance-state-change": "KarpenterInstanceStateChange-",
    "capacity-reservation-interruption": "KarpenterCRInterruption-",
}

# Resources mlinfra leaves unnamed get `<resource name>-<7 random hex>` from pulumi-aws, which refuses a name over the
# provider's limit for that resource ("could not make instance ...: name '<name>-' plus 7 random chars is longer
# than maximum length 64"): pulumi/pulumi-aws provider/resource_overrides.go, aws_iam_role `AutoName("name", 64,
# "-")`; pulumi/pulumi sdk/go/common/resource `NewUniqueHex`. IAM role names have at most 64 characters (IAM user
# guide, "IAM object quotas").
AUTONAME_SUFFIX = 8
IAM_ROLE_NAME_MAX = 64
# A managed node group's name is `node_group_name_prefix` plus a 26-character unique suffix, and at most 63
# characters (terraform-provider-aws internal/service/eks/node_group.go: node_group_name_prefix
# `StringLenBetween(0, 63-id.UniqueIDSuffixLength)`; pulumi-aws eks.NodeGroup `node_group_name`: "can't be longer
# than 63 characters").
NODE_GROUP_NAME_PREFIX_MAX = 63 - 26


def karpenter_controller_policy(
    cluster: str, region: str, account: str, node_role_arn: str, queue_arn: str | None, partition: str = "aws"
) -> dict[str, Any]:
    """The Karpenter controller's IAM policy, ported statement by statement from the v1.14.1 CloudFormation
    template (NodeLifecyclePolicy, IAMIntegrationPolicy, EKSIntegrationPolicy, InterruptionPolicy,
    ZonalShiftPolicy, ResourceDiscoveryPolicy), with its scoping conditions. `queue_arn` None leaves out the
    interruption statement (no queue)."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    request_owned = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned",
                     "aws:RequestTag/eks:eks-cluster-name": cluster}
    tagged = [f"{ec2}:*:{kind}/*" for kind in ("fleet", "instance", "volume", "network-interface",
                                                "launch-template", "spot-instances-request")]
    profile = f"arn:{partition}:iam::{account}:instance-profile/*"
    cluster_arn = f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"
    statements: list[dict[str, Any]] = [
        {"Sid": "AllowScopedEC2InstanceAccessActions", "Effect": "Allow",
         "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                      f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"],
         "Action": ["ec2:RunInstances", "ec2:CreateFleet"]},
        {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Effect": "Allow",
         "Resource": f"{ec2}:*:launch-template/*", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Effect": "Allow", "Resource": tagged,
         "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Condition": {"StringEquals": request_owned,
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceCreationTagging", "Effect": "Allow", "Resource": tagged,
         "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": {**request_owned,
                                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceTagging", "Effect": "Allow", "Resource": f"{ec2}:*:instance/*",
         "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                       "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                       "ForAllValues:StringEquals": {
                           "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
        {"Sid": "AllowScopedDeletion", "Effect": "Allow",
         "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
         "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowPassingInstanceRole", "Effect": "Allow", "Resource": node_role_arn, "Action": "iam:PassRole",
         "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
        {"Sid": "AllowScopedInstanceProfileCreationActions", "Effect": "Allow", "Resource": profile,
         "Action": ["iam:CreateInstanceProfile"],
         "Condition": {"StringEquals": {**{k: v for k, v in request_owned.items()},
                                        "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowScopedInstanceProfileTagActions", "Effect": "Allow", "Resource": profile,
         "Action": ["iam:TagInstanceProfile"],
         "Condition": {"StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region,
                                        **request_owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                                      "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowScopedInstanceProfileActions", "Effect": "Allow", "Resource": profile,
         "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
                    "iam:DeleteInstanceProfile"],
         "Condition": {"StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow", "Resource": cluster_arn,
         "Action": "eks:DescribeCluster"},
        {"Sid": "AllowZonalShiftStatusReadOnly", "Effect": "Allow", "Resource": "*",
         "Action": ["arc-zonal-shift:GetManagedResource"],
         "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}}},
        {"Sid": "AllowRegionalReadActions", "Effect": "Allow", "Resource": "*",
         "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
         "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        {"Sid": "AllowSSMReadActions", "Effect": "Allow",
         "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*", "Action": "ssm:GetParameter"},
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
        {"Sid": "AllowUnscopedInstanceProfileListAction", "Effect": "Allow", "Resource": "*",
         "Action": "iam:ListInstanceProfiles"},
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Resource": profile,
         "Action": "iam:GetInstanceProfile"},
    ]
    if queue_arn is not None:
        statements.append({"Sid": "AllowInterruptionQueueActions", "Effect": "Allow", "Resource": queue_arn,
                           "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]})
    return {"Version": "2012-10-17", "Statement": statements}


def cluster_autoscaler_policy(cluster: str) -> str:
    """The cluster-autoscaler's IAM policy for ASG auto-discovery (kubernetes/autoscaler
    cluster-autoscaler/cloudprovider/aws/README.md, "Full Cluster Autoscaler Features Policy"): the read actions
    on every resource, and the two write actions limited, as the README recommends, by a tag condition to the
    ASGs of this cluster. The README's "minimal" policy names each ASG ARN and rules out auto-discovery, which
    managed node groups (their ASG names are chosen by EKS) need; the tag condition scopes the writes as tightly.
    EKS tags every managed node group's ASG with `k8s.io/cluster-autoscaler/<cluster>: owned` and
    `k8s.io/cluster-autoscaler/enabled: true` (EKS user guide, "Simplify node lifecycle with managed node
    groups")."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Discover", "Effect": "Allow", "Resource": "*",
         "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                    "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"]},
        {"Sid": "ScaleOwnGroups", "Effect": "Allow", "Resource": "*",
         "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned",
                                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true"}}},
    ]}, sort_keys=True)


# The node label cluster-autoscaler's AWS provider reads to know that a node has GPUs before the device plugin
# advertises them (kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/aws_cloud_provider.go `GPULabel`;
# cloudprovider/aws/README.md, "Special note on GPU instances": without it a GPU node that has joined but whose
# device plugin has not yet advertised its GPUs looks like a ready node without GPUs, the pending GPU pod does not
# fit it, and the autoscaler scales the group out again). Its value names the GPU type (`nvidia-tesla-t4`,
# `nvidia-a10g`, `nvidia-l4` in aws_cloud_provider.go's `availableGPUTypes`).
CLUSTER_AUTOSCALER_GPU_LABEL = "k8s.amazonaws.com/accelerator"


# cluster-autoscaler's minor must match the cluster's Kubernetes minor (kubernetes/autoscaler
# cluster-autoscaler/README.md, "Releases"). Newest patch tag per minor in kubernetes/autoscaler@55c37cd5
# (tags cluster-autoscaler-1.31.5 ... 1.36.1); image registry.k8s.io/autoscaling/cluster-autoscaler.
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {
    "1.31": "v1.31.5", "1.32": "v1.32.7", "1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2", "1.36": "v1.36.1",
}
