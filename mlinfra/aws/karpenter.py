"""Karpenter on EKS: the controller release, the spot interruption queue, and per pool a NodePool,
an EC2NodeClass and (for MIG and shared GPUs) a NodeOverlay."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlinfra.aws.node_group import IMAGE_VOLUME_DEVICE, ami_family, node_labels, pool_arch
from mlinfra.catalog import eks as eks_catalog
from mlinfra.catalog import versions
from mlinfra.catalog.versions import ChartPin
from mlinfra.k8s.helm import pinned_release, release_namespace
from mlinfra.spec.clusters import KarpenterSpec
from mlinfra.spec.resolve import GPU_RESOURCE, ResolvedPool

NAMESPACE = "karpenter"
SERVICE_ACCOUNT = "karpenter"
NODE_CLASS_GROUP = "karpenter.k8s.aws"

# EventBridge events Karpenter reacts to before EC2 takes a node away (the v1.14.1 CloudFormation template).
INTERRUPTION_EVENTS = eks_catalog.KARPENTER_INTERRUPTION_EVENTS


def karpenter_pools(pools: list[ResolvedPool]) -> list[ResolvedPool]:
    """The pools Karpenter provisions."""
    return [p for p in pools if p.spec.provisioner == "karpenter"]


def ami_selector(
    pool: ResolvedPool, driver: str, kubernetes_version: str, ami_version: str = "latest",
    bottlerocket_version: str = "latest",
) -> tuple[list[dict[str, str]], str | None]:
    """`amiSelectorTerms` and `amiFamily` of a pool's EC2NodeClass.

    The `al2023` and `bottlerocket` aliases pick the NVIDIA image variant for GPU instance types by
    themselves. When the operator installs the driver, the standard AL2023 image is selected through its
    public SSM parameter instead, because no alias selects it for GPU types.

    `ami_version` (an EKS AMI release `vYYYYMMDD`) pins AL2023 images, `bottlerocket_version` (a Bottlerocket
    release `v1.x.y`) Bottlerocket images; each alias takes the version in its own image's format, since Karpenter
    looks it up in that image's SSM path (aws/karpenter-provider-aws@v1.14.1 pkg/providers/amifamily/al2023.go
    `resolvePath`, bottlerocket.go `DescribeImageQuery`): an AMI date under Bottlerocket's path matches no image.
    """
    family = ami_family(pool)
    if family == "al2023" and driver == "operator":
        arch = "arm64" if pool_arch(pool) == "arm64" else "x86_64"
        release = ("recommended" if ami_version == "latest"
                   else f"amazon-eks-node-al2023-{arch}-standard-{kubernetes_version}-{ami_version}")
        param = (f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{arch}/standard/"
                 f"{release}/image_id")
        return [{"ssmParameter": param}], "AL2023"
    version = bottlerocket_version if family == "bottlerocket" else ami_version
    return [{"alias": f"{family}@{version}"}], None


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


def node_pool_limits(pool: ResolvedPool) -> dict[str, str]:
    """NodePool `limits` that stop the pool at `max_nodes`, whatever the MIG or sharing mode: `nodes`.

    Karpenter counts a NodePool's usage from its nodes: an initialized node by its own `status.capacity`, which is
    what the device plugin advertises, and a node not yet initialized by the instance type's capacity (the physical
    GPU count as `nvidia.com/gpu`, with a NodeOverlay's capacity merged over it: pkg/cloudprovider/types.go
    `ApplyCapacityOverlay`); every node counts 1 toward `nodes`
    (kubernetes-sigs/karpenter@6e7eab7a, the core v1.14.1 builds on: pkg/controllers/state/statenode.go
    `Capacity`, pkg/controllers/nodepool/counter). An `nvidia.com/gpu` limit is right for one of the two only:
    nodes that advertise more GPUs than they hold (time-slicing or MPS replicas, single-strategy MIG with several
    slices per GPU) would hit it after a fraction of max_nodes, and nodes that advertise none (renamed sharing,
    mixed-strategy MIG) would never count toward it once initialized. `nodes` counts 1 per node in both phases
    and is checked before a node is launched (scheduler.go `addToNewNodeClaim`; karpenter-provider-aws v1.14.1
    docs concepts/nodepools.md, "spec.limits")."""
    return {"nodes": str(pool.spec.max_nodes)}


def disruption_budgets() -> list[dict[str, Any]]:
    """GPU NodePool budgets: one node at a time for drift (a new AMI release, a changed node class), so a weekly
    AMI release never drains a pool at once; empty nodes go as consolidate_after says (NodePool CRD
    `disruption.budgets`, reasons Empty and Drifted)."""
    return [{"nodes": "1", "reasons": ["Drifted"]}, {"nodes": "10%", "reasons": ["Empty"]}]


def node_pool_manifest(pool: ResolvedPool, settings: KarpenterSpec) -> dict[str, Any]:
    """The `karpenter.sh/v1` NodePool of a pool."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": pool.name, "labels": {"mlinfra.io/pool": pool.name}},
        "spec": {
            "template": {
                "metadata": {"labels": node_labels(pool)},
                "spec": {
                    "nodeClassRef": {"group": NODE_CLASS_GROUP, "kind": "EC2NodeClass", "name": pool.name},
                    "requirements": requirements(pool),
                    "taints": [dict(t) for t in pool.taints],
                    "expireAfter": settings.expire_after,
                    # A draining GPU node waits this long for its jobs to checkpoint, then goes anyway.
                    "terminationGracePeriod": settings.termination_grace_period,
                },
            },
            "limits": node_pool_limits(pool),
            "disruption": {
                # GPU jobs are long and expensive to restart: only empty nodes are consolidated.
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": settings.consolidate_after,
                "budgets": disruption_budgets(),
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
    bottlerocket_version: str = "latest",
) -> dict[str, Any]:
    """The `karpenter.k8s.aws/v1` EC2NodeClass of a pool: hardened like the managed node groups."""
    terms, family = ami_selector(pool, driver, kubernetes_version, ami_version, bottlerocket_version)
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


def controller_policy(cluster: str, region: str, account: str, node_role_arn: str, queue_arn: str | None,
                      partition: str = "aws") -> str:
    """IAM policy of the Karpenter controller, as the pinned release's CloudFormation template scopes it
    (catalog/eks.py `karpenter_controller_policy`)."""
    return json.dumps(eks_catalog.karpenter_controller_policy(cluster, region, account, node_role_arn, queue_arn,
                                                              partition), sort_keys=True)


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
    region: str
    pools: list[ResolvedPool]
    settings: KarpenterSpec
    subnet_ids: pulumi.Input[list[str]]
    security_group_ids: pulumi.Input[list[str]]
    kubernetes_version: str = eks_catalog.DEFAULT_KUBERNETES_VERSION
    driver: str = "cloud"
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    chart: ChartPin = field(default_factory=lambda: versions.KARPENTER)
    crd_chart: ChartPin = field(default_factory=lambda: versions.KARPENTER_CRD)


class Karpenter(pulumi.ComponentResource):
    """Karpenter on one EKS cluster and the NodePools of its `provisioner: karpenter` pools.

    Needs `providers={"aws": ..., "kubernetes": ...}` in its options. The controller authenticates with IRSA
    when the cluster's OIDC provider is known (clusters mlinfra creates), else with EKS Pod Identity.
    """

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:aws:Karpenter", name, None, opts)
        import pulumi_aws
        import pulumi_kubernetes as k8s
        from pulumi_aws import cloudwatch, eks, iam, sqs

        from mlinfra.aws.cluster import NODE_TRUST

        child = pulumi.ResourceOptions(parent=self)
        # Karpenter's nodes get a role of their own and its access entry. The managed node groups' role already
        # has the entry EKS made for it; a second CreateAccessEntry for it fails (409), and deleting ours would
        # take the managed nodes' access with it (EKS user guide, "Grant IAM users access to Kubernetes with EKS
        # access entries"; terraform-aws-eks#2977).
        self.node_role = iam.Role(f"{name}-node-role", assume_role_policy=NODE_TRUST, opts=child)
        node_policies = [
            iam.RolePolicyAttachment(f"{name}-node-role-{i}", role=self.node_role.name, policy_arn=policy, opts=child)
            for i, policy in enumerate(eks_catalog.NODE_POLICIES)
        ]
        access = eks.AccessEntry(f"{name}-node-access", cluster_name=args.cluster_name,
                                 principal_arn=self.node_role.arn, type="EC2_LINUX", opts=child)

        queue_name: pulumi.Output[str] | None = None
        queue_arn: pulumi.Output[str] | None = None
        iam_deps: list[pulumi.Resource] = [access, *node_policies]
        if args.settings.interruption_queue:
            queue = sqs.Queue(f"{name}-interruptions", message_retention_seconds=300,
                              sqs_managed_sse_enabled=True, opts=child)
            iam_deps.append(sqs.QueuePolicy(f"{name}-interruptions-policy", queue_url=queue.url,
                                            policy=queue.arn.apply(queue_policy), opts=child))
            description = pulumi.Output.from_input(args.cluster_name).apply(
                lambda c: f"Karpenter interruption events for EKS cluster {c}")
            for role, pattern in INTERRUPTION_EVENTS.items():
                # A fixed short prefix: names derived from the cluster's would run past EventBridge's 64 characters.
                rule = cloudwatch.EventRule(f"{name}-{role}", event_pattern=json.dumps(pattern, sort_keys=True),
                                            name_prefix=eks_catalog.KARPENTER_INTERRUPTION_RULE_PREFIXES[role],
                                            description=description, opts=child)
                cloudwatch.EventTarget(f"{name}-{role}-target", rule=rule.name, arn=queue.arn, opts=child)
            queue_name, queue_arn = queue.name, queue.arn

        if args.oidc_provider_arn is not None and args.oidc_issuer is not None:
            trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda a: irsa_trust_policy(a[0], a[1]))
        else:
            trust = pulumi.Output.from_input(POD_IDENTITY_TRUST)
        self.controller_role = iam.Role(f"{name}-controller", assume_role_policy=trust, opts=child)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = pulumi_aws.get_caller_identity_output(opts=invoke).account_id
        partition = pulumi_aws.get_partition_output(opts=invoke).partition
        policy = pulumi.Output.all(args.cluster_name, account, self.node_role.arn, queue_arn, partition).apply(
            lambda a: controller_policy(a[0], args.region, a[1], a[2], a[3], a[4]))
        iam_deps.append(iam.RolePolicy(f"{name}-controller-policy", role=self.controller_role.id, policy=policy,
                                       opts=child))
        irsa = args.oidc_provider_arn is not None
        if not irsa:
            iam_deps.append(eks.PodIdentityAssociation(
                f"{name}-pod-identity", cluster_name=args.cluster_name, namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT, role_arn=self.controller_role.arn, opts=child))

        values = helm_values(args.cluster_name, self.controller_role.arn if irsa else None, queue_name,
                             overlays=any(overlay_capacity(p) for p in args.pools))
        # The controller needs no host access: baseline is enforced, restricted warned about.
        namespace = release_namespace(f"{name}-namespace", NAMESPACE, "baseline", self)
        # CRDs as their own release: Helm installs a chart's crds/ once and never upgrades them.
        crds = pinned_release(f"{name}-crd", "karpenter-crd", args.crd_chart, NAMESPACE, {},
                              pulumi.ResourceOptions(parent=self, depends_on=[namespace]))
        # Removing Karpenter deletes the release (and its nodes) before the IAM it acts with.
        self.release = pinned_release(f"{name}-release", "karpenter", args.chart, NAMESPACE, values,
                                      pulumi.ResourceOptions(parent=self, depends_on=[namespace, crds, *iam_deps]),
                                      skip_crds=True)
        after = pulumi.ResourceOptions(parent=self, depends_on=[self.release, crds, *iam_deps])
        for pool in args.pools:
            node_class = ec2_node_class_manifest(pool, args.driver, args.kubernetes_version, self.node_role.name,
                                                 args.subnet_ids, args.security_group_ids, args.settings.ami_version,
                                                 args.settings.bottlerocket_version)
            for role, obj in (("nodeclass", node_class), ("nodepool", node_pool_manifest(pool, args.settings)),
                              ("overlay", node_overlay_manifest(pool))):
                if obj is None:
                    continue
                k8s.apiextensions.CustomResource(
                    f"{name}-{pool.name}-{role}",
                    api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"], spec=obj["spec"],
                    opts=after,
                )
        self.register_outputs({"interruption_queue": queue_name, "controller_role_arn": self.controller_role.arn,
                               "node_role_arn": self.node_role.arn})
