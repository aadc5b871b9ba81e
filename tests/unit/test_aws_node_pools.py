"""EKS clusters, managed GPU node groups and Karpenter pools: pure decisions and what the mock runtime records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from spec_assertions import EKS_REACHABLE

from mlinfra.aws import karpenter, node_group
from mlinfra.offline.render import StackConfig, render_environment, run_program
from mlinfra.spec import load_environment
from mlinfra.spec.clusters import KarpenterSpec
from mlinfra.spec.resolve import resolve_cluster_pools

NETWORK = {"vpc_id": "vpc-0a1b2c", "subnet_ids": ["subnet-0a1", "subnet-0b2"]}


def eks_spec(*pools: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    return {"environment": "t", "clusters": [{"name": "eks", "cloud": "aws", **EKS_REACHABLE,
                                              "region": "us-east-1",
                                              "network": NETWORK, "pools": list(pools), **cluster}]}


def resolved(pool: dict[str, Any], **cluster: Any):
    env = load_environment(eks_spec(pool, **cluster))
    return resolve_cluster_pools(env.clusters[0])[0]


def resources(files: dict[str, str]) -> list[dict[str, Any]]:
    return json.loads(files["resources.json"])


def one(res: list[dict[str, Any]], type_: str, name: str) -> dict[str, Any]:
    found = [r for r in res if r["type"] == type_ and r["name"] == name]
    assert len(found) == 1, f"{type_} {name}: {[r['name'] for r in res if r['type'] == type_]}"
    return found[0]


AMI_TYPES = [
    # (pool, driver, AMI type)
    ({"name": "p", "instance_types": ["p5.48xlarge"], "max_nodes": 1}, "cloud", "AL2023_x86_64_NVIDIA"),
    ({"name": "p", "instance_types": ["g5g.xlarge"], "max_nodes": 1}, "cloud", "AL2023_ARM_64_NVIDIA"),
    ({"name": "p", "instance_types": ["g6.xlarge"], "max_nodes": 1, "ami_family": "bottlerocket"}, "cloud",
     "BOTTLEROCKET_x86_64_NVIDIA"),
    ({"name": "p", "instance_types": ["g5g.xlarge"], "max_nodes": 1, "ami_family": "bottlerocket"}, "cloud",
     "BOTTLEROCKET_ARM_64_NVIDIA"),
    ({"name": "p", "instance_types": ["p5.48xlarge"], "max_nodes": 1}, "operator", "AL2023_x86_64_STANDARD"),
    ({"name": "p", "instance_types": ["g5g.xlarge"], "max_nodes": 1}, "operator", "AL2023_ARM_64_STANDARD"),
]


@pytest.mark.parametrize(("pool", "driver", "expected"), AMI_TYPES, ids=[e for _, _, e in AMI_TYPES])
def test_ami_type_follows_architecture_family_and_driver_owner(pool, driver, expected):
    p = resolved(pool, gpu_operator={"driver": driver})
    assert node_group.ami_type(p, driver) == expected


H100 = {"name": "p", "gpu": "H100-80GB", "max_nodes": 1}
BOTTLEROCKET = {**H100, "ami_family": "bottlerocket"}
KARPENTER_AMIS = [
    # (case, pool, driver, ami_version, bottlerocket_version, amiSelectorTerms, amiFamily)
    ("al2023", H100, "cloud", "latest", "latest", [{"alias": "al2023@latest"}], None),
    ("al2023 pinned", H100, "cloud", "v20251120", "v1.64.0", [{"alias": "al2023@v20251120"}], None),
    ("bottlerocket", BOTTLEROCKET, "cloud", "latest", "latest", [{"alias": "bottlerocket@latest"}], None),
    # An EKS AMI date is no Bottlerocket version: the Bottlerocket alias takes only its own pin.
    ("bottlerocket pinned", BOTTLEROCKET, "cloud", "v20251120", "v1.64.0", [{"alias": "bottlerocket@v1.64.0"}],
     None),
    ("bottlerocket, only the AMI pinned", BOTTLEROCKET, "cloud", "v20251120", "latest",
     [{"alias": "bottlerocket@latest"}], None),
    ("operator driver", H100, "operator", "latest", "v1.64.0",
     [{"ssmParameter": "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id"}],
     "AL2023"),
    ("operator driver pinned", H100, "operator", "v20251120", "latest",
     [{"ssmParameter": "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/"
                       "amazon-eks-node-al2023-x86_64-standard-1.33-v20251120/image_id"}], "AL2023"),
]


@pytest.mark.parametrize(("case", "pool", "driver", "ami", "bottlerocket", "terms", "family"), KARPENTER_AMIS,
                         ids=[a[0] for a in KARPENTER_AMIS])
def test_karpenter_ami_selection(case, pool, driver, ami, bottlerocket, terms, family):
    p = resolved(pool, gpu_operator={"driver": driver})
    assert karpenter.ami_selector(p, driver, "1.33", ami, bottlerocket) == (terms, family)


def test_launch_template_requires_imdsv2_hop_limit_1_encrypted_gp3_and_no_public_ip():
    p = resolved({"name": "p", "gpu": "H100-80GB", "max_nodes": 1, "disk_size_gib": 500})
    args = node_group.launch_template_args(p, "eks-p", ["sg-1"])
    assert args.metadata_options.http_tokens == "required"
    assert args.metadata_options.http_put_response_hop_limit == 1
    ebs = args.block_device_mappings[0].ebs
    assert (ebs.volume_size, ebs.volume_type, ebs.encrypted, ebs.delete_on_termination) == (500, "gp3", "true", "true")
    assert args.network_interfaces[0].associate_public_ip_address == "false"


def test_nodepool_for_a_spot_time_sliced_pool():
    p = resolved({"name": "l4-ts", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 4, "spot": True,
                  "provisioner": "karpenter", "time_slicing": {"replicas": 4}})
    manifest = karpenter.node_pool_manifest(p, KarpenterSpec(consolidate_after="5m", expire_after="168h"))
    spec = manifest["spec"]
    reqs = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert reqs == {"karpenter.sh/capacity-type": ["spot"], "kubernetes.io/arch": ["amd64"],
                    "karpenter.k8s.aws/instance-gpu-name": ["l4"], "karpenter.k8s.aws/instance-gpu-count": ["1"]}
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m",
                                  "budgets": [{"nodes": "1", "reasons": ["Drifted"]},
                                              {"nodes": "10%", "reasons": ["Empty"]}]}
    assert spec["template"]["spec"]["expireAfter"] == "168h"
    # Limits bound nodes, whatever each node advertises (tests/reference/test_karpenter_node_limits.py).
    assert spec["limits"] == {"nodes": "4"}
    assert spec["template"]["metadata"]["labels"]["nvidia.com/device-plugin.config"] == "time-slicing-4"
    assert spec["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    overlay = karpenter.node_overlay_manifest(p)
    assert overlay is not None and overlay["spec"]["capacity"] == {"nvidia.com/gpu": "4"}


def test_plain_gpu_pool_needs_no_overlay_and_named_types_are_required():
    p = resolved({"name": "h", "instance_types": ["p5.48xlarge"], "max_nodes": 3, "provisioner": "karpenter"})
    assert karpenter.node_overlay_manifest(p) is None
    manifest = karpenter.node_pool_manifest(p, KarpenterSpec())
    reqs = {r["key"]: r["values"] for r in manifest["spec"]["template"]["spec"]["requirements"]}
    assert reqs["node.kubernetes.io/instance-type"] == ["p5.48xlarge"]
    assert reqs["karpenter.sh/capacity-type"] == ["on-demand"]
    assert manifest["spec"]["limits"] == {"nodes": "3"}


def test_mixed_mig_overlay_advertises_each_profile():
    p = resolved({"name": "m", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 1, "provisioner": "karpenter",
                  "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}}})
    overlay = karpenter.node_overlay_manifest(p)
    assert overlay is not None
    assert overlay["spec"]["capacity"] == {"nvidia.com/mig-1g.10gb": "16", "nvidia.com/mig-2g.20gb": "8",
                                           "nvidia.com/mig-3g.40gb": "8"}


RICH = eks_spec(
    {"name": "h100-mig", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2, "mig": {"profiles": {"1g.10gb": 7}}},
    {"name": "l4-spot", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 6, "spot": True,
     "taints": [{"key": "team", "value": "vision", "effect": "NoSchedule"}]},
    {"name": "k-spot", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 4, "spot": True,
     "provisioner": "karpenter", "time_slicing": {"replicas": 4}},
    {"name": "k-ond", "gpu": "A100-80GB", "max_nodes": 2, "provisioner": "karpenter",
     "mig": {"profiles": {"3g.40gb": 2}}},
    endpoint={"public_access_cidrs": ["203.0.113.0/24"]},
    control_plane_logs=["api", "audit", "authenticator", "controllerManager", "scheduler"],
)


@pytest.fixture(scope="module")
def rich() -> list[dict[str, Any]]:
    return resources(render_environment(RICH))


def test_created_cluster_is_encrypted_logged_and_private_by_default(rich):
    cluster = one(rich, "aws:eks/cluster:Cluster", "eks-eks")["inputs"]
    key = one(rich, "aws:kms/key:Key", "eks-secrets-key")["inputs"]
    assert key["enableKeyRotation"] is True
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert cluster["vpcConfig"] == {"endpointPrivateAccess": True, "endpointPublicAccess": True,
                                    "publicAccessCidrs": ["203.0.113.0/24"], "subnetIds": NETWORK["subnet_ids"]}
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert one(rich, "aws:eks/cluster:Cluster", "eks-eks")["provider"] == "eks-aws"
    oidc = one(rich, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "eks-oidc")["inputs"]
    assert oidc["clientIdLists"] == ["sts.amazonaws.com"]
    assert oidc["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")


def test_private_deployers_reach_a_private_only_endpoint_on_443_through_the_cluster_security_group():
    # EKS user guide, "Cluster API server endpoint": with public access off, API traffic must come from the VPC
    # or a connected network, and the cluster security group must admit it on 443.
    spec = eks_spec({"name": "p", "gpu": "L4-24GB", "max_nodes": 1},
                    endpoint={"private_access_cidrs": ["10.20.0.0/24", "fd00:10::/48"]})
    res = resources(render_environment(spec))
    vpc = one(res, "aws:eks/cluster:Cluster", "eks-eks")["inputs"]["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc
    rule_type = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    rules = {r["name"]: r["inputs"] for r in res if r["type"] == rule_type}
    sg = "sg-" + __import__("hashlib").sha256(b"eks-eks").hexdigest()[:12]  # the mock's cluster security group
    assert rules == {
        "eks-api-from-10-20-0-0-24": {"securityGroupId": sg, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                                      "cidrIpv4": "10.20.0.0/24",
                                      "description": "Kubernetes API from deployers in 10.20.0.0/24"},
        "eks-api-from-fd00-10---48": {"securityGroupId": sg, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                                      "cidrIpv6": "fd00:10::/48",
                                      "description": "Kubernetes API from deployers in fd00:10::/48"},
    }


def test_public_deployers_limit_the_public_endpoint_to_their_ranges():
    spec = eks_spec({"name": "p", "gpu": "L4-24GB", "max_nodes": 1},
                    endpoint={"public_access_cidrs": ["198.51.100.0/24", "2001:db8::/32"]})
    res = resources(render_environment(spec))
    vpc = one(res, "aws:eks/cluster:Cluster", "eks-eks")["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["198.51.100.0/24", "2001:db8::/32"]
    assert not [r for r in res if r["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]


def test_managed_node_groups(rich):
    mig = one(rich, "aws:eks/nodeGroup:NodeGroup", "eks-h100-mig-ng")
    assert mig["parent"] == "eks-h100-mig" and mig["provider"] == "eks-aws"
    i = mig["inputs"]
    assert i["amiType"] == "AL2023_x86_64_NVIDIA"
    assert i["capacityType"] == "ON_DEMAND" and i["instanceTypes"] == ["p5.48xlarge"]
    assert i["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}
    assert i["labels"]["nvidia.com/mig.config"] == "all-1g.10gb"
    assert i["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert i["launchTemplate"]["version"] == "1"
    spot = one(rich, "aws:eks/nodeGroup:NodeGroup", "eks-l4-spot-ng")["inputs"]
    assert spot["capacityType"] == "SPOT"
    assert len(spot["instanceTypes"]) > 1 and all(t.startswith(("g6.", "gr6.")) for t in spot["instanceTypes"])
    assert {"key": "team", "value": "vision", "effect": "NO_SCHEDULE"} in spot["taints"]
    lt = one(rich, "aws:ec2/launchTemplate:LaunchTemplate", "eks-l4-spot-lt")["inputs"]
    assert lt["metadataOptions"]["httpTokens"] == "required"
    assert lt["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert lt["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert lt["networkInterfaces"][0]["associatePublicIpAddress"] == "false"
    # Karpenter pools get no managed node group.
    assert not [r for r in rich if r["type"] == "aws:eks/nodeGroup:NodeGroup" and r["name"].startswith("eks-k-")]


def security_settings(template: dict[str, Any]) -> dict[str, Any]:
    """What a launch template decides about node security: IMDS access, the image volume's encryption and type,
    the primary interface's public address."""
    metadata = template["metadataOptions"]
    (device,) = template["blockDeviceMappings"]
    (interface,) = template["networkInterfaces"]
    return {"imds": (metadata["httpEndpoint"], metadata["httpTokens"], metadata["httpPutResponseHopLimit"]),
            "ebs": (device["ebs"]["volumeType"], device["ebs"]["encrypted"], device["ebs"]["deleteOnTermination"]),
            "public_ip": interface["associatePublicIpAddress"], "security_groups": interface["securityGroups"]}


def test_system_and_gpu_node_groups_get_the_same_hardened_launch_template(rich):
    templates = {r["name"]: r["inputs"] for r in rich if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"}
    system = templates.pop("eks-default-lt")
    assert templates, "the managed GPU pools have launch templates"
    expected = {"imds": ("enabled", "required", 1), "ebs": ("gp3", "true", "true"), "public_ip": "false",
                "security_groups": system["networkInterfaces"][0]["securityGroups"]}
    assert security_settings(system) == expected
    for name, template in templates.items():
        assert security_settings(template) == expected, name
    assert system["blockDeviceMappings"][0]["deviceName"] == "/dev/xvda"
    assert system["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 50
    group = one(rich, "aws:eks/nodeGroup:NodeGroup", "eks-default")["inputs"]
    assert group["launchTemplate"]["version"] == "1"
    assert group["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}


def test_autoscaler_template_tags_describe_a_node_of_the_pool():
    p = resolved({"name": "m", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 1,
                  "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}},
                  "labels": {"team": "vision"}, "taints": [{"key": "dedicated", "value": "vision"}]})
    tags = node_group.autoscaler_template_tags(p)
    prefix = "k8s.io/cluster-autoscaler/node-template/"
    assert tags[prefix + "label/mlinfra.io/pool"] == "m"
    assert tags[prefix + "label/team"] == "vision"
    assert tags[prefix + "taint/nvidia.com/gpu"] == "present:NoSchedule"
    assert tags[prefix + "taint/dedicated"] == "vision:NoSchedule"
    assert tags[prefix + "taint/mlinfra.io/gpu-resource"] == "mig:NoSchedule"
    # Mixed MIG: what the device plugin will advertise, per profile, not the instance's 8 GPUs. The template
    # starts from the instance type's GPU count as nvidia.com/gpu and each resource tag overrides it
    # (kubernetes/autoscaler cluster-autoscaler-1.35.2 cloudprovider/aws/aws_manager.go buildNodeFromTemplate),
    # so nvidia.com/gpu is zeroed: these nodes never advertise it.
    assert {k: v for k, v in tags.items() if "/resources/" in k} == {
        prefix + "resources/nvidia.com/gpu": "0",
        prefix + "resources/nvidia.com/mig-1g.10gb": "16", prefix + "resources/nvidia.com/mig-2g.20gb": "8",
        prefix + "resources/nvidia.com/mig-3g.40gb": "8"}
    shared = resolved({"name": "s", "gpu": "L4-24GB", "max_nodes": 1,
                       "time_slicing": {"replicas": 4, "rename_by_default": True}})
    shared_tags = node_group.autoscaler_template_tags(shared)
    assert shared_tags[prefix + "resources/nvidia.com/gpu.shared"] == "4"
    assert shared_tags[prefix + "resources/nvidia.com/gpu"] == "0"
    assert shared_tags[prefix + "taint/mlinfra.io/gpu-resource"] == "gpu.shared:NoSchedule"
    # Whole GPUs: the instance type's count stands, no extra taint.
    plain_tags = node_group.autoscaler_template_tags(resolved({"name": "w", "gpu": "L4-24GB", "max_nodes": 1}))
    assert plain_tags[prefix + "resources/nvidia.com/gpu"] == "1"
    assert prefix + "taint/mlinfra.io/gpu-resource" not in plain_tags


def test_managed_node_groups_tag_their_autoscaling_group_for_scale_from_zero(rich):
    tags = [r for r in rich if r["type"] == "aws:autoscaling/tag:Tag" and r["parent"] == "eks-l4-spot"]
    by_key = {t["inputs"]["tag"]["key"]: t["inputs"] for t in tags}
    ng = one(rich, "aws:eks/nodeGroup:NodeGroup", "eks-l4-spot-ng")["inputs"]
    p = resolved(RICH["clusters"][0]["pools"][1])
    assert set(by_key) == set(node_group.autoscaler_template_tags(p))
    assert len(by_key) == len(ng["labels"]) + len(ng["taints"]) + 1
    for inputs in by_key.values():
        # The group EKS created for the node group (from its `resources`), and only the group: nodes already
        # carry their labels and taints.
        assert inputs["autoscalingGroupName"].startswith("eks-eks-l4-spot-ng-")
        assert inputs["tag"]["propagateAtLaunch"] is False
    assert by_key["k8s.io/cluster-autoscaler/node-template/taint/team"]["tag"]["value"] == "vision:NoSchedule"
    assert not [r for r in rich if r["type"] == "aws:autoscaling/tag:Tag" and r["parent"].startswith("eks-k-")]


def test_a_node_group_without_an_autoscaling_group_fails_clearly():
    with pytest.raises(ValueError, match="no Auto Scaling group"):
        node_group._autoscaling_group_name([])


def test_karpenter_release_queue_and_rules(rich):
    release = one(rich, "kubernetes:helm.sh/v3:Release", "eks-karpenter-release")
    assert release["provider"] == "eks-k8s"
    values = release["inputs"]["values"]
    queue = one(rich, "aws:sqs/queue:Queue", "eks-karpenter-interruptions")
    assert queue["inputs"]["sqsManagedSseEnabled"] is True
    assert values["settings"]["interruptionQueue"] == "eks-karpenter-interruptions"
    assert values["settings"]["clusterName"] == "t-eks"
    assert values["settings"]["featureGates"] == {"nodeOverlay": True}
    role = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role.startswith("arn:aws:iam::123456789012:role/eks-karpenter-controller")
    rules = {r["name"]: json.loads(r["inputs"]["eventPattern"]) for r in rich
             if r["type"] == "aws:cloudwatch/eventRule:EventRule"}
    assert sorted(p["detail-type"][0] for p in rules.values()) == [
        "AWS Health Event", "EC2 Capacity Reservation Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation", "EC2 Instance State-change Notification",
        "EC2 Spot Instance Interruption Warning"]
    targets = [r for r in rich if r["type"] == "aws:cloudwatch/eventTarget:EventTarget"]
    assert len(targets) == 5 and {t["inputs"]["arn"] for t in targets} == {"arn:aws:sqs:us-east-1:123456789012:"
                                                                           "eks-karpenter-interruptions"}
    trust = json.loads(one(rich, "aws:iam/role:Role", "eks-karpenter-controller")["inputs"]["assumeRolePolicy"])
    cond = trust["Statement"][0]["Condition"]["StringEquals"]
    assert any(k.endswith(":sub") and v == "system:serviceaccount:karpenter:karpenter" for k, v in cond.items())
    access = one(rich, "aws:eks/accessEntry:AccessEntry", "eks-karpenter-node-access")["inputs"]
    assert access["type"] == "EC2_LINUX"


def test_karpenter_custom_resources_per_pool(rich):
    kinds = sorted((r["type"], r["name"]) for r in rich if r["type"].startswith("kubernetes:karpenter"))
    assert kinds == [
        ("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "eks-karpenter-k-ond-nodeclass"),
        ("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "eks-karpenter-k-spot-nodeclass"),
        ("kubernetes:karpenter.sh/v1:NodePool", "eks-karpenter-k-ond-nodepool"),
        ("kubernetes:karpenter.sh/v1:NodePool", "eks-karpenter-k-spot-nodepool"),
        ("kubernetes:karpenter.sh/v1alpha1:NodeOverlay", "eks-karpenter-k-ond-overlay"),
        ("kubernetes:karpenter.sh/v1alpha1:NodeOverlay", "eks-karpenter-k-spot-overlay"),
    ]
    node_class = one(rich, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "eks-karpenter-k-spot-nodeclass")["inputs"]
    spec = node_class["spec"]
    assert spec["subnetSelectorTerms"] == [{"id": "subnet-0a1"}, {"id": "subnet-0b2"}]
    assert spec["securityGroupSelectorTerms"][0]["id"].startswith("sg-")
    assert spec["role"].startswith("eks-karpenter-node-role")
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert spec["associatePublicIPAddress"] is False
    assert spec["blockDeviceMappings"][0]["ebs"]["encrypted"] is True


def test_identity_carries_the_oidc_provider_of_a_created_cluster():
    captured: dict[str, Any] = {}

    def program() -> None:
        from mlinfra.platform import Platform

        platform = Platform("platform", load_environment(eks_spec({"name": "p", "gpu": "L4-24GB", "max_nodes": 1})))
        ident = platform.clusters["eks"].identity  # type: ignore[attr-defined]
        ident["oidc_provider_arn"].apply(lambda v: captured.__setitem__("arn", v))
        ident["oidc_issuer"].apply(lambda v: captured.__setitem__("issuer", v))

    run_program(program, StackConfig("mlinfra", "t", {}, []))
    assert captured["issuer"].startswith("oidc.eks.us-east-1.amazonaws.com/id/")
    assert captured["arn"] == f"arn:aws:iam::123456789012:oidc-provider/{captured['issuer']}"


def test_existing_cluster_gets_node_groups_and_karpenter_but_no_control_plane():
    spec = {"environment": "t", "clusters": [{
        "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
        "existing": {"name": "shared-eks", "kubeconfig_secret": "eks-kubeconfig"},
        "pools": [{"name": "m", "gpu": "L4-24GB", "max_nodes": 2},
                  {"name": "k", "gpu": "L4-24GB", "max_nodes": 2, "provisioner": "karpenter"}]}]}
    res = resources(render_environment(spec, extra_config={"mlinfra:eks-kubeconfig": "apiVersion: v1"}))
    types = {r["type"] for r in res}
    control_plane = {"aws:eks/cluster:Cluster", "aws:kms/key:Key",
                     "aws:iam/openIdConnectProvider:OpenIdConnectProvider"}
    assert not types & control_plane
    ng = one(res, "aws:eks/nodeGroup:NodeGroup", "eks-m-ng")["inputs"]
    assert ng["clusterName"] == "shared-eks"
    # Subnets and the cluster security group come from DescribeCluster.
    assert len(ng["subnetIds"]) == 2 and all(s.startswith("subnet-") for s in ng["subnetIds"])
    assoc = one(res, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "eks-karpenter-pod-identity")["inputs"]
    assert (assoc["clusterName"], assoc["namespace"], assoc["serviceAccount"]) == (
        "shared-eks", "karpenter", "karpenter")
    release = one(res, "kubernetes:helm.sh/v3:Release", "eks-karpenter-release")["inputs"]
    assert release["values"]["serviceAccount"]["annotations"] == {}
    assert one(res, "pulumi:providers:kubernetes", "eks-k8s")["inputs"]["kubeconfig"] == "[secret]"


# kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md, "Special note on GPU instances", and
# aws_cloud_provider.go `GPULabel = "k8s.amazonaws.com/accelerator"`: a GPU node labelled so counts as not ready
# until its `nvidia.com/gpu` is advertised; unlabelled, the autoscaler launches another node meanwhile. A pool
# whose nodes never advertise `nvidia.com/gpu` must not carry it (the autoscaler would wait for good).
AUTOSCALER_GPU_LABELS = [
    ({"name": "p", "instance_types": ["p5.48xlarge"], "max_nodes": 2}, "nvidia-h100"),
    ({"name": "p", "gpu": "L4-24GB", "max_nodes": 2}, "nvidia-l4"),
    ({"name": "p", "gpu": "L4-24GB", "max_nodes": 2, "time_slicing": {"replicas": 4}}, "nvidia-l4"),
    ({"name": "p", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2, "mig": {"profiles": {"3g.40gb": 2}}},
     "nvidia-h100"),
    ({"name": "p", "gpu": "L4-24GB", "max_nodes": 2, "time_slicing": {"replicas": 4, "rename_by_default": True}},
     None),
    ({"name": "p", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2,
      "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}}}, None),
]


@pytest.mark.parametrize(("pool", "expected"), AUTOSCALER_GPU_LABELS,
                         ids=["p5", "l4", "l4-shared", "h100-mig-single", "l4-renamed", "h100-mig-mixed"])
def test_managed_gpu_nodes_carry_the_autoscaler_gpu_label_when_they_advertise_gpus(pool, expected):
    p = resolved(pool)
    key = "k8s.amazonaws.com/accelerator"
    labels = node_group.node_group_args(p, "cloud").labels
    template = node_group.autoscaler_template_tags(p).get(f"k8s.io/cluster-autoscaler/node-template/label/{key}")
    assert labels.get(key) == expected
    # The template node of a group at zero carries the label its nodes will have.
    assert template == expected
