"""Karpenter on EKS: the controller release, the spot interruption queue, and per pool a NodePool,
an EC2NodeClass and (for MIG and shared GPUs) a NodeOverlay."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlinfra.aws.node_group import IMAGE_VOLUME_DEVICE, ami_family, pool_arch
from mlinfra.catalog import versions
from mlinfra.catalog.versions import ChartPin
from mlinfra.k8s.helm import pinned_release, release_namespace
from mlinfra.spec.clusters import KarpenterSpec
from mlinfra.spec.resolve import GPU_RESOURCE, ResolvedPool

NAMESPACE = "karpenter"
SERVICE_ACCOUNT = "karpenter"
NODE_CLASS_GROUP = "karpenter.k8s.aws"

# EventBridge events Karpenter reacts to before EC2 takes a node away (its interruption-handling docs).
INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
}


def karpenter_pools(pools: list[ResolvedPool]) -> list[ResolvedPool]:
    """The pools Karpenter provisions."""
    return [p for p in pools if p.spec.provisioner == "karpenter"]


def ami_selector(
    pool: ResolvedPool, driver: str, kubernetes_version: str, ami_version: str = "latest"
) -> tuple[list[dict[str, str]], str | None]:
    """`amiSelectorTerms` and `amiFamily` of a pool's EC2NodeClass.

    The `al2023` and `bottlerocket` aliases pick the NVIDIA image variant for GPU instance types by
    themselves. When the operator installs the driver, the standard AL2023 image is selected through its
    public SSM parameter instead, because no alias selects it for GPU types.
    """
    family = ami_family(pool)
    if family == "al2023" and driver == "operator":
        arch = "arm64" if pool_arch(pool) == "arm64" else "x86_64"
        release = ("recommended" if ami_version == "latest"
                   else f"amazon-eks-node-al2023-{arch}-standard-{kubernetes_version}-{ami_version}")
        param = (f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{arch}/standard/"
                 f"{release}/image_id")
        return [{"ssmParameter": param}], "AL2023"
    return [{"alias": f"{family}@{ami_version}"}], None


def requirements(pool: ResolvedPool) -> list[dict[str, Any]]:
    """NodePool requirements: capacity type, architecture, GPU name and count (and the named types)."""
    spec = pool.spec
    from mlinfra import catalog

    first = catalog.AWS_INSTANCE_TYPES[pool.instance_types[0]]
    reqs: list[dict[str, Any]] = [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [pool.capacity_type]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": [pool_arch(pool)]},
        {"key": "karpenter.k8s.aws/instance-gpu-name", "operator": "In", "values": [first.karpenter_gpu_name]},
        {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "In", "values": [str(pool.gpus_per_node)]},
    ]
    if spec.instance_types:
        reqs.append({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(spec.instance_types)})
    return reqs


def overlay_capacity(pool: ResolvedPool) -> dict[str, int]:
    """Extended resources a pool's nodes advertise beyond whole GPUs; empty for plain GPU pools.

    Karpenter only knows the physical GPU count of an instance type; MIG slices and shared GPUs must be
    announced through a NodeOverlay so that pending pods asking for them make Karpenter scale.
    """
    per_node = pool.resources_per_node()
    return {} if per_node == {GPU_RESOURCE: pool.gpus_per_node} else per_node


def node_pool_manifest(pool: ResolvedPool, settings: KarpenterSpec) -> dict[str, Any]:
    """The `karpenter.sh/v1` NodePool of a pool."""
    capacity = overlay_capacity(pool)
    limits = {k: str(v * pool.spec.max_nodes) for k, v in capacity.items()} or {GPU_RESOURCE: str(pool.max_gpus)}
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": pool.name, "labels": {"mlinfra.io/pool": pool.name}},
        "spec": {
            "template": {
                "metadata": {"labels": dict(sorted(pool.labels.items()))},
                "spec": {
                    "nodeClassRef": {"group": NODE_CLASS_GROUP, "kind": "EC2NodeClass", "name": pool.name},
                    "requirements": requirements(pool),
                    "taints": [dict(t) for t in pool.taints],
                    "expireAfter": settings.expire_after,
                },
            },
            "limits": limits,
            "disruption": {
                # GPU jobs are long and expensive to restart: only empty nodes are consolidated.
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": settings.consolidate_after,
            },
        },
    }


def ec2_node_class_manifest(
    pool: ResolvedPool,
    driver: str,
    kubernetes_version: str,
    role: pulumi.Input[str],
    subnet_ids: pulumi.Input[list[str]],
    security_group_ids: pulumi.Input[list[str]],
    ami_version: str = "latest",
) -> dict[str, Any]:
    """The `karpenter.k8s.aws/v1` EC2NodeClass of a pool: hardened like the managed node groups."""
    terms, family = ami_selector(pool, driver, kubernetes_version, ami_version)
    devices: list[dict[str, Any]] = []
    if ami_family(pool) == "bottlerocket":
        devices.append({"deviceName": "/dev/xvda", "ebs": _ebs(4)})
    devices.append({"deviceName": IMAGE_VOLUME_DEVICE[ami_family(pool)], "rootVolume": True,
                    "ebs": _ebs(pool.spec.disk_size_gib)})
    spec: dict[str, Any] = {
        "role": role,
        "amiSelectorTerms": terms,
        "subnetSelectorTerms": pulumi.Output.from_input(subnet_ids).apply(lambda ids: [{"id": i} for i in ids]),
        "securityGroupSelectorTerms": pulumi.Output.from_input(security_group_ids).apply(
            lambda ids: [{"id": i} for i in ids]
        ),
        "associatePublicIPAddress": False,
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": devices,
        "tags": {"mlinfra.io/pool": pool.name},
    }
    if family:
        spec["amiFamily"] = family
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": pool.name, "labels": {"mlinfra.io/pool": pool.name}},
        "spec": spec,
    }


def _ebs(size_gib: int) -> dict[str, Any]:
    return {"volumeSize": f"{size_gib}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}


def node_overlay_manifest(pool: ResolvedPool) -> dict[str, Any] | None:
    """The `karpenter.sh/v1alpha1` NodeOverlay that announces a pool's MIG or shared-GPU resources."""
    capacity = overlay_capacity(pool)
    if not capacity:
        return None
    return {
        "apiVersion": "karpenter.sh/v1alpha1",
        "kind": "NodeOverlay",
        "metadata": {"name": pool.name, "labels": {"mlinfra.io/pool": pool.name}},
        "spec": {
            "requirements": [{"key": "karpenter.sh/nodepool", "operator": "In", "values": [pool.name]}],
            "capacity": {k: str(v) for k, v in sorted(capacity.items())},
        },
    }


def helm_values(
    cluster_name: pulumi.Input[str],
    controller_role_arn: pulumi.Input[str] | None,
    interruption_queue: pulumi.Input[str] | None,
    overlays: bool,
) -> dict[str, Any]:
    """Values of the Karpenter chart (keys from the chart's values.yaml only)."""
    settings: dict[str, Any] = {"clusterName": cluster_name, "featureGates": {"nodeOverlay": overlays}}
    if interruption_queue is not None:
        settings["interruptionQueue"] = interruption_queue
    values: dict[str, Any] = {
        "settings": settings,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": {}},
    }
    if controller_role_arn is not None:
        values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] = controller_role_arn
    return values


def controller_policy(node_role_arn: str, queue_arn: str | None) -> str:
    """IAM policy of the Karpenter controller: launch and end its own instances, pass only the node role."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Provision",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:CreateTags"],
            "Resource": "*",
        },
        {
            "Sid": "Terminate",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": "*",
            "Condition": {"StringLike": {"ec2:ResourceTag/karpenter.sh/nodepool": "*"}},
        },
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeAvailabilityZones", "ec2:DescribeImages", "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
                "ec2:DescribeCapacityReservations", "ec2:DescribePlacementGroups",
                "pricing:GetProducts", "ssm:GetParameter", "eks:DescribeCluster",
            ],
            "Resource": "*",
        },
        {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": node_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
        {
            "Sid": "InstanceProfiles",
            "Effect": "Allow",
            "Action": [
                "iam:GetInstanceProfile", "iam:ListInstanceProfiles", "iam:CreateInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile",
            ],
            "Resource": "*",
        },
    ]
    if queue_arn is not None:
        statements.append({"Sid": "Interruptions", "Effect": "Allow",
                           "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
                           "Resource": queue_arn})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str) -> str:
    """Trust policy letting only the Karpenter service account assume the controller role (IRSA)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{oidc_issuer}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
                f"{oidc_issuer}:aud": "sts.amazonaws.com",
            }},
        }],
    }, sort_keys=True)


POD_IDENTITY_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                   "Action": ["sts:AssumeRole", "sts:TagSession"]}],
}, sort_keys=True)


def queue_policy(queue_arn: str) -> str:
    """SQS policy letting EventBridge and SQS deliver interruption events to the queue over TLS only."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EventBridge", "Effect": "Allow",
             "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
             "Action": "sqs:SendMessage", "Resource": queue_arn},
            {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    }, sort_keys=True)


@dataclass
class KarpenterArgs:
    """Inputs of `Karpenter`."""

    cluster_name: pulumi.Input[str]
    pools: list[ResolvedPool]
    settings: KarpenterSpec
    node_role_arn: pulumi.Input[str]
    node_role_name: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    security_group_ids: pulumi.Input[list[str]]
    kubernetes_version: str = "1.33"
    driver: str = "cloud"
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    chart: ChartPin = field(default_factory=lambda: versions.KARPENTER)


class Karpenter(pulumi.ComponentResource):
    """Karpenter on one EKS cluster and the NodePools of its `provisioner: karpenter` pools.

    Needs `providers={"aws": ..., "kubernetes": ...}` in its options. The controller authenticates with IRSA
    when the cluster's OIDC provider is known (clusters mlinfra creates), else with EKS Pod Identity.
    """

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:aws:Karpenter", name, None, opts)
        import pulumi_kubernetes as k8s
        from pulumi_aws import cloudwatch, eks, iam, sqs

        child = pulumi.ResourceOptions(parent=self)
        queue_name: pulumi.Output[str] | None = None
        queue_arn: pulumi.Output[str] | None = None
        if args.settings.interruption_queue:
            queue = sqs.Queue(f"{name}-interruptions", message_retention_seconds=300,
                              sqs_managed_sse_enabled=True, opts=child)
            sqs.QueuePolicy(f"{name}-interruptions-policy", queue_url=queue.url,
                            policy=queue.arn.apply(queue_policy), opts=child)
            for role, pattern in INTERRUPTION_EVENTS.items():
                rule = cloudwatch.EventRule(f"{name}-{role}", event_pattern=json.dumps(pattern, sort_keys=True),
                                     opts=child)
                cloudwatch.EventTarget(f"{name}-{role}-target", rule=rule.name, arn=queue.arn, opts=child)
            queue_name, queue_arn = queue.name, queue.arn

        if args.oidc_provider_arn is not None and args.oidc_issuer is not None:
            trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda a: irsa_trust_policy(a[0], a[1]))
        else:
            trust = pulumi.Output.from_input(POD_IDENTITY_TRUST)
        self.controller_role = iam.Role(f"{name}-controller", assume_role_policy=trust, opts=child)
        policy = pulumi.Output.all(args.node_role_arn, queue_arn).apply(lambda a: controller_policy(a[0], a[1]))
        role_policy = iam.RolePolicy(f"{name}-controller-policy", role=self.controller_role.id, policy=policy,
                                     opts=child)
        irsa = args.oidc_provider_arn is not None
        if not irsa:
            eks.PodIdentityAssociation(f"{name}-pod-identity", cluster_name=args.cluster_name, namespace=NAMESPACE,
                                       service_account=SERVICE_ACCOUNT, role_arn=self.controller_role.arn, opts=child)
        # Nodes Karpenter launches join the cluster through an access entry for the node role.
        eks.AccessEntry(f"{name}-node-access", cluster_name=args.cluster_name, principal_arn=args.node_role_arn,
                        type="EC2_LINUX", opts=child)

        chart = args.chart
        values = helm_values(args.cluster_name, self.controller_role.arn if irsa else None, queue_name,
                             overlays=any(overlay_capacity(p) for p in args.pools))
        # The controller needs no host access: baseline is enforced, restricted warned about.
        namespace = release_namespace(f"{name}-namespace", NAMESPACE, "baseline", self)
        self.release = pinned_release(f"{name}-release", "karpenter", chart, NAMESPACE, values,
                                      pulumi.ResourceOptions(parent=self, depends_on=[namespace, role_policy]))
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        for pool in args.pools:
            node_class = ec2_node_class_manifest(pool, args.driver, args.kubernetes_version, args.node_role_name,
                                                 args.subnet_ids, args.security_group_ids, args.settings.ami_version)
            for role, obj in (("nodeclass", node_class), ("nodepool", node_pool_manifest(pool, args.settings)),
                              ("overlay", node_overlay_manifest(pool))):
                if obj is None:
                    continue
                k8s.apiextensions.CustomResource(
                    f"{name}-{pool.name}-{role}",
                    api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"], spec=obj["spec"],
                    opts=after,
                )
        self.register_outputs({"interruption_queue": queue_name, "controller_role_arn": self.controller_role.arn})
