"""The prod EKS cluster as the engine would create it: one sourced fact per test (issue 17's faults).

Each test reads what the real stack program registers under the mock runtime (inputs and the dependencies the
registration waits for) and compares it with the named source.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
import yaml

from mlinfra.offline.render import build_render, program_path, project_root, read_stack_config, run_program

TODAY = date(2026, 11, 30)
ROOT = project_root()


@pytest.fixture(scope="module")
def prod() -> list[Any]:
    # The platform stack references no other stack.
    return run_program(program_path(ROOT), read_stack_config("prod", project_dir=ROOT))


@pytest.fixture(scope="module")
def files(prod) -> dict[str, str]:
    return build_render(prod)


def of_type(regs, type_: str) -> list[Any]:
    return [r for r in regs if r.type == type_]


def one(regs, type_: str, name: str) -> Any:
    found = [r for r in regs if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{type_} {name}: {[r.name for r in of_type(regs, type_)]}"
    return found[0]


def waits_for(reg, regs, type_: str, name: str) -> bool:
    """Whether `reg` lists the registration (type, name) among the resources it waits for."""
    return one(regs, type_, name).urn in reg.dependencies


ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


# Fault 1. EKS user guide, "Grant IAM users access to Kubernetes with EKS access entries": EKS creates the entry
# of a managed node group's role itself; a second CreateAccessEntry returns 409 ResourceInUseException
# (terraform-aws-eks#2977). Karpenter's nodes get a role and an entry of their own.
def test_no_access_entry_for_the_managed_node_groups_role(prod):
    managed_role = one(prod, "aws:iam/role:Role", "eks-node-role")
    entries = of_type(prod, "aws:eks/accessEntry:AccessEntry")
    assert entries, "Karpenter's nodes need an access entry"
    for entry in entries:
        assert managed_role.urn not in entry.dependencies, entry.name
    karpenter_role = one(prod, "aws:iam/role:Role", "eks-karpenter-node-role")
    (entry,) = entries
    assert entry.inputs["type"] == "EC2_LINUX"
    assert karpenter_role.urn in entry.dependencies


# Fault 2. kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md: auto-discovery by the tags
# k8s.io/cluster-autoscaler/enabled and k8s.io/cluster-autoscaler/<cluster> (the chart's default autoDiscovery.tags,
# charts/cluster-autoscaler values.yaml at cluster-autoscaler-chart-9.59.0), which EKS puts on managed node
# groups' ASGs; the "Full Cluster Autoscaler Features Policy" actions, writes restricted by tag conditions as the
# README recommends. cluster-autoscaler/README.md "Releases": the autoscaler minor matches the cluster's.
def test_cluster_autoscaler_scales_the_managed_pools_with_its_own_scoped_role(prod):
    release = one(prod, "kubernetes:helm.sh/v3:Release", "eks-cluster-autoscaler-release")
    values = release.inputs["values"]
    cluster = one(prod, "aws:eks/cluster:Cluster", "eks-eks").inputs
    assert values["autoDiscovery"] == {"clusterName": cluster["name"]}
    assert values["cloudProvider"] == "aws" and values["awsRegion"] == "us-east-1"
    assert values["image"]["tag"].startswith(f"v{cluster['version']}.")
    assert values["extraArgs"]["balance-similar-node-groups"] is True
    assert values["extraArgs"]["expander"].split(",")[0] in ("least-waste", "priority")
    policy = json.loads(one(prod, "aws:iam/rolePolicy:RolePolicy", "eks-cluster-autoscaler-policy").inputs["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
            "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
            "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup",
            "autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"} == actions
    (writes,) = [s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert writes["Condition"]["StringEquals"][f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster['name']}"] == \
        "owned"
    association = one(prod, "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                      "eks-cluster-autoscaler-pod-identity").inputs
    assert (association["namespace"], association["serviceAccount"]) == ("kube-system", "cluster-autoscaler")
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert waits_for(release, prod, "aws:iam/rolePolicy:RolePolicy", "eks-cluster-autoscaler-policy")


# Fault 3. EKS user guide, "Store Kubernetes volumes with Amazon EBS": the aws-ebs-csi-driver add-on with a role
# holding AmazonEBSCSIDriverPolicy for ebs-csi-controller-sa; EKS marks no StorageClass default (1.30+).
# ai-on-eks: gp3 default class, encrypted; kube-prometheus-stack values
# prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName.
def test_ebs_csi_driver_encrypted_gp3_default_class_and_prometheus_on_it(prod, files):
    addon = one(prod, "aws:eks/addon:Addon", "eks-aws-ebs-csi-driver").inputs
    (association,) = addon["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    attachments = [r.inputs["policyArn"] for r in of_type(prod, ROLE_ATTACHMENT) if r.name == "eks-ebs-csi-policy"]
    assert attachments == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
    (sc_path,) = [p for p in files if p.startswith("manifests/eks/") and "/StorageClass-" in p]
    sc = yaml.safe_load(files[sc_path])
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["type"] == "gp3" and sc["parameters"]["encrypted"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    stack = yaml.safe_load(files["helm/eks/kube-prometheus-stack.yaml"])["values"]
    claim = stack["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == sc["metadata"]["name"]


# Fault 4. EKS release calendar (EKS user guide, "Kubernetes version lifecycle"; endoflife.date/amazon-eks):
# 1.35 is in standard support until 2027-03-27. "Manage EKS extended support": upgradePolicy.supportType STANDARD.
# EKS user guide, "Amazon EKS add-ons": vpc-cni, coredns, kube-proxy, eks-pod-identity-agent.
STANDARD_SUPPORT_ENDS = {"1.34": date(2026, 12, 2), "1.35": date(2027, 3, 27)}


def test_supported_version_standard_policy_managed_addons_and_no_version_skew(prod):
    cluster = one(prod, "aws:eks/cluster:Cluster", "eks-eks")
    version = cluster.inputs["version"]
    assert STANDARD_SUPPORT_ENDS[version] >= TODAY
    assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    addons = {r.inputs["addonName"]: r.inputs for r in of_type(prod, "aws:eks/addon:Addon")}
    assert {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"} <= set(addons)
    # Resolved for the cluster's version (the offline stand-in names the version it was asked for).
    assert all(f"-{version}-" in a["addonVersion"] for a in addons.values())
    groups = of_type(prod, "aws:eks/nodeGroup:NodeGroup")
    assert groups and all(g.inputs["version"] == version for g in groups)


# Fault 5. Ordering on IAM (issue 17 item 5): the Karpenter release, NodePool and EC2NodeClass wait for the
# controller policy, the node access entry and the queue policy; node groups for their role's attachments.
def test_karpenter_and_node_groups_wait_for_their_iam(prod):
    needed = [("aws:iam/rolePolicy:RolePolicy", "eks-karpenter-controller-policy"),
              ("aws:eks/accessEntry:AccessEntry", "eks-karpenter-node-access"),
              ("aws:sqs/queuePolicy:QueuePolicy", "eks-karpenter-interruptions-policy")]
    karpenter = [one(prod, "kubernetes:helm.sh/v3:Release", "eks-karpenter-release"),
                 *of_type(prod, "kubernetes:karpenter.sh/v1:NodePool"),
                 *of_type(prod, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")]
    for reg in karpenter:
        for type_, name in needed:
            assert waits_for(reg, prod, type_, name), f"{reg.name} does not wait for {name}"
    attachments = [r for r in of_type(prod, ROLE_ATTACHMENT) if r.name.startswith("eks-node-role-")]
    assert len(attachments) == 4
    for group in of_type(prod, "aws:eks/nodeGroup:NodeGroup"):
        assert {a.urn for a in attachments} <= set(group.dependencies), group.name


# Fault 6. aws/karpenter-provider-aws@v1.14.1 website/content/en/docs/getting-started/getting-started-with-karpenter/
# cloudformation.yaml: the controller policies (scoped by the cluster tag, the region, the node role) with
# ec2:DescribeInstanceStatus and arc-zonal-shift:GetManagedResource, five EventBridge rules, and (Karpenter upgrade
# guide) the karpenter-crd chart from the same registry at the same version.
CLOUDFORMATION_RULES = {
    "AWS Health Event", "EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
    "EC2 Instance State-change Notification", "EC2 Capacity Reservation Instance Interruption Warning",
}


def test_karpenter_as_upstream_ships_it(prod, files):
    policy = json.loads(one(prod, "aws:iam/rolePolicy:RolePolicy", "eks-karpenter-controller-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert "ec2:DescribeInstanceStatus" in by_sid["AllowRegionalReadActions"]["Action"]
    assert by_sid["AllowRegionalReadActions"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    assert by_sid["AllowZonalShiftStatusReadOnly"]["Action"] == ["arc-zonal-shift:GetManagedResource"]
    assert by_sid["AllowScopedDeletion"]["Condition"]["StringEquals"] == {
        "aws:ResourceTag/kubernetes.io/cluster/prod-eks": "owned"}
    assert by_sid["AllowPassingInstanceRole"]["Resource"].startswith("arn:aws:iam::123456789012:role/"
                                                                     "eks-karpenter-node-role")
    assert not [s for s in policy["Statement"] if s["Resource"] == "*" and "ec2:RunInstances" in s["Action"]]
    rules = {json.loads(r.inputs["eventPattern"])["detail-type"][0]
             for r in of_type(prod, "aws:cloudwatch/eventRule:EventRule")}
    assert rules == CLOUDFORMATION_RULES
    crd = yaml.safe_load(files["helm/eks/karpenter-crd.yaml"])
    controller = yaml.safe_load(files["helm/eks/karpenter.yaml"])
    assert crd["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert crd["version"] == controller["version"]
    release = one(prod, "kubernetes:helm.sh/v3:Release", "eks-karpenter-release")
    assert waits_for(release, prod, "kubernetes:helm.sh/v3:Release", "eks-karpenter-crd")


# Fault 7. Karpenter docs, "Managing AMIs": pin AMIs in production; NodePool CRD v1.14.1 disruption.budgets and
# template.spec.terminationGracePeriod.
def test_gpu_nodepools_pin_the_ami_and_limit_disruption(prod):
    for node_class in of_type(prod, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        for term in node_class.inputs["spec"]["amiSelectorTerms"]:
            assert "@latest" not in term.get("alias", "") and "recommended" not in term.get("ssmParameter", "")
    for pool in of_type(prod, "kubernetes:karpenter.sh/v1:NodePool"):
        spec = pool.inputs["spec"]
        assert {"nodes": "1", "reasons": ["Drifted"]} in spec["disruption"]["budgets"]
        assert spec["template"]["spec"]["terminationGracePeriod"]


# Fault 8. Karpenter counts an initialized node with what its device plugin advertises and every node as 1 of
# `limits.nodes` (kubernetes-sigs/karpenter@6e7eab7a pkg/controllers/state/statenode.go `Capacity`); the node count
# bounds the pool in every mode (tests/reference/test_karpenter_node_limits.py).
def test_nodepool_limits_bound_the_pool_at_max_nodes(prod):
    (pool,) = of_type(prod, "kubernetes:karpenter.sh/v1:NodePool")
    # prod's p5-spot: at most 8 x p5.48xlarge.
    assert pool.inputs["spec"]["limits"] == {"nodes": "8"}


# Fault 10. terraform-aws-eks: cloudwatch_log_group_retention_in_days = 90 on /aws/eks/<cluster>/cluster, created
# before the cluster; Karpenter v1.14.1 CloudFormation KarpenterNodeRole: AmazonSSMManagedInstanceCore.
def test_control_plane_log_group_before_the_cluster_and_ssm_on_node_roles(prod):
    cluster = one(prod, "aws:eks/cluster:Cluster", "eks-eks")
    logs = one(prod, "aws:cloudwatch/logGroup:LogGroup", "eks-control-plane-logs")
    assert logs.inputs == {"name": f"/aws/eks/{cluster.inputs['name']}/cluster", "retentionInDays": 90}
    assert logs.urn in cluster.dependencies
    for role in ("eks-node-role", "eks-karpenter-node-role"):
        arns = {r.inputs["policyArn"] for r in of_type(prod, ROLE_ATTACHMENT)
                if r.name.rsplit("-", 1)[0] == role}
        assert "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" in arns, role


# kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md, "Special note on GPU instances" (and
# aws_cloud_provider.go `GPULabel`): GPU nodes carry `k8s.amazonaws.com/accelerator=<gpu-type>` from the moment
# they join, so the autoscaler waits for the device plugin instead of scaling the group out again; a group at zero
# describes the label in its node-template tags.
def test_managed_gpu_groups_tell_the_autoscaler_their_nodes_have_gpus(prod):
    key = "k8s.amazonaws.com/accelerator"
    gpu_groups = [g for g in of_type(prod, "aws:eks/nodeGroup:NodeGroup") if "NVIDIA" in g.inputs["amiType"]
                  or g.inputs.get("taints")]
    assert gpu_groups
    for group in gpu_groups:
        assert group.inputs["labels"][key] == "nvidia-h100", group.name
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in of_type(prod, "aws:autoscaling/tag:Tag")}
    assert tags[f"k8s.io/cluster-autoscaler/node-template/label/{key}"] == "nvidia-h100"


# terraform-aws-modules/terraform-aws-eks@v21.19.0 main.tf, `aws_iam_policy.cluster_encryption` ("ClusterEncryption"):
# whenever encryption_config is set, the cluster role gets kms:Encrypt, kms:Decrypt, kms:ListGrants and
# kms:DescribeKey on the encryption key's ARN (terraform-aws-eks#1913: EKS calls kms:ListGrants as the cluster role).
# AmazonEKSClusterPolicy only reads a key (awsdocs/amazon-eks-user-guide security-iam-awsmanpol.adoc).
def test_cluster_role_may_use_the_secrets_key_before_the_cluster_is_created(prod):
    cluster = one(prod, "aws:eks/cluster:Cluster", "eks-eks")
    key_arn = cluster.inputs["encryptionConfig"]["provider"]["keyArn"]
    role = one(prod, "aws:iam/role:Role", "eks-cluster-role")
    grants = [r for r in of_type(prod, "aws:iam/rolePolicy:RolePolicy") if role.urn in r.dependencies]
    statements = [s for g in grants for s in json.loads(g.inputs["policy"])["Statement"]
                  if any(a.startswith("kms:") for a in s["Action"])]
    assert len(statements) == 1, statements
    (statement,) = statements
    assert statement["Effect"] == "Allow" and statement["Resource"] == key_arn
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ListGrants"]
    (grant,) = [g for g in grants if statement in json.loads(g.inputs["policy"])["Statement"]]
    assert grant.urn in cluster.dependencies


# EKS user guide, "Understand the Kubernetes version lifecycle on EKS": standard support for the first 14 months after
# a minor's EKS release, extended support for the next 12; release calendar
# (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar) as
# awsdocs/amazon-eks-user-guide@01385604 latest/ug/versioning/kubernetes-versions.adoc gives it for 1.31-1.34 and
# endoflife-date/endoflife.date@a70eca33 products/amazon-eks.md (read from that table) for 1.35 and 1.36; EKS
# release notes, "Kubernetes 1.36 is now available in Amazon EKS" (2026-06-02).
EKS_CALENDAR = {
    # version: (EKS release, end of standard support, end of extended support)
    "1.31": (date(2024, 9, 26), date(2025, 11, 26), date(2026, 11, 26)),
    "1.32": (date(2025, 1, 23), date(2026, 3, 23), date(2027, 3, 23)),
    "1.33": (date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": (date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    "1.35": (date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
    "1.36": (date(2026, 6, 2), date(2027, 8, 2), date(2028, 8, 2)),
}


def months_later(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    return day.replace(year=day.year + year, month=month + 1)


def test_eks_support_dates_and_a_default_in_standard_support_today(prod):
    from mlinfra.catalog import eks as eks_catalog

    for version, (released, standard, extended) in EKS_CALENDAR.items():
        known = eks_catalog.EKS_VERSIONS[version]
        assert (known.released, known.end_of_standard, known.end_of_extended) == (released, standard, extended)
        assert (months_later(released, 14), months_later(released, 26)) == (standard, extended), version
    default = eks_catalog.DEFAULT_KUBERNETES_VERSION
    assert EKS_CALENDAR[default][1] >= TODAY
    # prod leaves kubernetes_version unset: it runs the default.
    assert one(prod, "aws:eks/cluster:Cluster", "eks-eks").inputs["version"] == default


# awslabs/amazon-eks-ami@81fec2e8 CHANGELOG.md, "AMI Release v20260714" (tag v20260714): the AL2023 images of that
# release for Kubernetes 1.35 (the repository's newest tag, v20260724, has no AMI list in any stored source, and
# v20260818 is in none). aws/karpenter-provider-aws@v1.14.1 pkg/providers/amifamily/al2023.go `resolvePath`: the
# alias al2023@<release> resolves /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/
# amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<release>/image_id, nvidia for GPU instance types. EC2NodeClass
# CRD v1.14.1 amiSelectorTerms.alias: "family@version", at most 30 characters, the version in the AMI's own
# format ("al2023@v20240625").
CONFIRMED_AMIS = {
    "amazon-eks-node-al2023-x86_64-nvidia-1.35-v20260714",
    "amazon-eks-node-al2023-x86_64-standard-1.35-v20260714",
    "amazon-eks-node-al2023-arm64-nvidia-1.35-v20260714",
}


def test_prod_pins_an_eks_ami_release_that_ships_images_for_its_kubernetes_version(prod, upstream):
    from mlinfra.catalog import eks as eks_catalog

    crd = yaml.safe_load((upstream / "karpenter/v1.14.1/karpenter.k8s.aws_ec2nodeclasses.yaml").read_text())
    term = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "amiSelectorTerms"]["items"]["properties"]["alias"]
    version = one(prod, "aws:eks/cluster:Cluster", "eks-eks").inputs["version"]
    node_classes = of_type(prod, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    assert node_classes
    for node_class in node_classes:
        (selector,) = node_class.inputs["spec"]["amiSelectorTerms"]
        alias = selector["alias"]
        assert len(alias) <= term["maxLength"] and re.fullmatch(r"[a-zA-Z0-9]+@.+", alias)
        family, release = alias.split("@")
        assert family == "al2023" and re.fullmatch(r"v\d{8}", release)
        assert date(int(release[1:5]), int(release[5:7]), int(release[7:9])) <= TODAY
        assert version in eks_catalog.EKS_AMI_RELEASES[release], (release, version)
        # prod's Karpenter pool: p5.48xlarge (x86_64) with the cloud's driver, the NVIDIA variant.
        assert f"amazon-eks-node-al2023-x86_64-nvidia-{version}-{release}" in CONFIRMED_AMIS
