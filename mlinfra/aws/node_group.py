"""EKS managed node groups of GPU nodes: a hardened launch template plus the node group that uses it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from mlinfra import catalog
from mlinfra.catalog import eks as eks_catalog
from mlinfra.spec.pools import DEFAULT_AMI_FAMILY
from mlinfra.spec.resolve import GPU_RESOURCE, ResolvedPool

if TYPE_CHECKING:
    from pulumi_aws import ec2, eks

_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}

# The root (AL2023) or data (Bottlerocket: the OS sits on a small /dev/xvda, images on /dev/xvdb) volume
# that holds container images and has to be sized for ML images.
IMAGE_VOLUME_DEVICE = {"al2023": "/dev/xvda", "bottlerocket": "/dev/xvdb"}


def pool_arch(pool: ResolvedPool) -> str:
    """`amd64` or `arm64`: the CPU architecture of the pool's instance types (g5g is Graviton)."""
    return catalog.AWS_INSTANCE_TYPES[pool.instance_types[0]].arch


def ami_family(pool: ResolvedPool) -> str:
    """The pool's node image family: its `ami_family`, else Amazon Linux 2023."""
    return pool.spec.ami_family or DEFAULT_AMI_FAMILY


# Bottlerocket's NVIDIA variants run their own device plugin (and no MIG manager of the operator's kind): the GPU
# operator skips an operand on a node labelled nvidia.com/gpu.deploy.<operand>=false, so two device plugins never
# advertise the same GPUs (NVIDIA GPU operator docs, operand deployment labels; issue 17 item 9).
BOTTLEROCKET_OPERAND_LABELS = {"nvidia.com/gpu.deploy.device-plugin": "false",
                               "nvidia.com/gpu.deploy.mig-manager": "false"}


def node_labels(pool: ResolvedPool) -> dict[str, str]:
    """The Kubernetes labels of a pool's EKS nodes: the pool contract's, plus the operand switches Bottlerocket
    nodes need."""
    labels = dict(pool.labels)
    if ami_family(pool) == "bottlerocket":
        labels.update(BOTTLEROCKET_OPERAND_LABELS)
    return dict(sorted(labels.items()))


def autoscaler_gpu_label(pool: ResolvedPool) -> dict[str, str]:
    """`{k8s.amazonaws.com/accelerator: nvidia-<gpu>}` for a managed pool whose nodes advertise `nvidia.com/gpu`.

    cluster-autoscaler treats a node carrying this label whose `nvidia.com/gpu` is still zero as not ready yet,
    so the minutes the device plugin (or the MIG manager) takes to advertise the GPUs do not make it launch a
    second p5.48xlarge for the same pending pod (catalog/eks.py `CLUSTER_AUTOSCALER_GPU_LABEL`). Pools whose nodes
    advertise no `nvidia.com/gpu` at all (MIG mixed strategy, renamed time-slicing) get no label: the autoscaler
    would wait on a resource that never appears and hold those nodes unready for good.
    """
    if pool.resources_per_node().get(GPU_RESOURCE, 0) <= 0:
        return {}
    gpu_name = catalog.AWS_INSTANCE_TYPES[pool.instance_types[0]].karpenter_gpu_name
    return {eks_catalog.CLUSTER_AUTOSCALER_GPU_LABEL: f"nvidia-{gpu_name}"}


def managed_node_labels(pool: ResolvedPool) -> dict[str, str]:
    """The labels of a managed node group's nodes: `node_labels`, plus cluster-autoscaler's GPU label."""
    return dict(sorted({**node_labels(pool), **autoscaler_gpu_label(pool)}.items()))


def ami_type(pool: ResolvedPool, driver: str) -> str:
    """The EKS AMI type of a managed GPU node group.

    The NVIDIA variants ship the driver; when the GPU operator installs it (`driver: operator`) the plain
    AL2023 image is used so two drivers never fight over the GPU.
    """
    arch = "ARM_64" if pool_arch(pool) == "arm64" else "x86_64"
    if ami_family(pool) == "bottlerocket":
        return f"BOTTLEROCKET_{arch}_NVIDIA"
    return f"AL2023_{arch}_{'STANDARD' if driver == 'operator' else 'NVIDIA'}"


def hardened_launch_template_args(
    name_prefix: str,
    device_name: str,
    volume_size_gib: int,
    security_group_ids: pulumi.Input[list[str]],
    tag_specifications: list[ec2.LaunchTemplateTagSpecificationArgs] | None = None,
    instance_metadata_tags: str | None = "disabled",
) -> ec2.LaunchTemplateArgs:
    """The `ec2.LaunchTemplate` arguments every EKS node group of mlinfra uses: IMDSv2 only with hop limit 1, an
    encrypted gp3 image volume of `volume_size_gib` GiB on `device_name`, no public IP, `security_group_ids` on
    the primary interface.

    Hop limit 1 keeps pods (one network hop away) from reading the node role's credentials. The security
    settings live here only, so the system and GPU node groups cannot drift apart. Built with the SDK's typed
    inputs, so mypy checks every key at every depth. `instance_metadata_tags` None leaves the key out (EC2's
    default is the same, `disabled`).
    """
    from pulumi_aws import ec2

    return ec2.LaunchTemplateArgs(
        name_prefix=name_prefix,
        update_default_version=True,
        metadata_options=ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
            instance_metadata_tags=instance_metadata_tags),
        block_device_mappings=[ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name=device_name,
            ebs=ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                volume_size=volume_size_gib, volume_type="gp3", encrypted="true", delete_on_termination="true"),
        )],
        # Nodes sit in private subnets and never get a public address.
        network_interfaces=[ec2.LaunchTemplateNetworkInterfaceArgs(
            device_index=0, associate_public_ip_address="false", security_groups=security_group_ids)],
        tag_specifications=tag_specifications,
    )


def launch_template_args(
    pool: ResolvedPool, name: str, security_group_ids: pulumi.Input[list[str]]
) -> ec2.LaunchTemplateArgs:
    """A GPU pool's launch template: `hardened_launch_template_args` on the volume that holds the container
    images, sized for ML images, with the pool's tag on its instances and volumes."""
    from pulumi_aws import ec2

    return hardened_launch_template_args(
        f"{name}-", IMAGE_VOLUME_DEVICE[ami_family(pool)], pool.spec.disk_size_gib, security_group_ids,
        tag_specifications=[
            ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={"mlinfra.io/pool": pool.name})
            for kind in ("instance", "volume")
        ],
    )


def launch_template_ref(template: ec2.LaunchTemplate) -> eks.NodeGroupLaunchTemplateArgs:
    """A node group's reference to its launch template: the template's latest version, so a change to the
    template rolls the group's nodes."""
    from pulumi_aws import eks

    return eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str))


@dataclass(frozen=True)
class NodeGroupSettings:
    """The `eks.NodeGroup` arguments that do not depend on other resources, each typed as the SDK declares it."""

    node_group_name_prefix: str
    ami_type: str
    capacity_type: str
    instance_types: list[str]
    scaling_config: eks.NodeGroupScalingConfigArgsDict
    update_config: eks.NodeGroupUpdateConfigArgsDict
    labels: dict[str, str]
    taints: list[eks.NodeGroupTaintArgsDict]
    tags: dict[str, str]


def node_group_args(pool: ResolvedPool, driver: str) -> NodeGroupSettings:
    """The `eks.NodeGroup` arguments that do not depend on other resources."""
    spec = pool.spec
    return NodeGroupSettings(
        node_group_name_prefix=f"{pool.name}-",
        ami_type=ami_type(pool, driver),
        capacity_type="SPOT" if spec.spot else "ON_DEMAND",
        instance_types=list(pool.instance_types),
        scaling_config={"min_size": spec.min_nodes, "max_size": spec.max_nodes, "desired_size": spec.min_nodes},
        update_config={"max_unavailable": 1},
        labels=managed_node_labels(pool),
        taints=[{"key": t["key"], "value": t["value"], "effect": _EFFECTS[t["effect"]]} for t in pool.taints],
        tags={"mlinfra.io/pool": pool.name},
    )


AUTOSCALER_TEMPLATE = catalog.AUTOSCALER_NODE_TEMPLATE_TAG


def autoscaler_template_tags(pool: ResolvedPool) -> dict[str, str]:
    """ASG tags that tell the cluster autoscaler what a node of `pool` looks like while the group has none.

    A managed node group scaled to zero has no node for the autoscaler to copy, so it builds a template node from
    the instance type and these tags. The instance type gives CPU, memory and whole GPUs; the tags add the
    pool's labels and taints (pods select and tolerate those) and the extended resources the device plugin will
    advertise: MIG slices and shared GPUs are counted differently from the instance's GPUs, and without them a
    pending pod asking for `nvidia.com/mig-1g.10gb` would never scale the pool up. The same role the NodeOverlay
    plays for Karpenter pools.

    The template starts from the instance type's GPU count as `nvidia.com/gpu` and then takes each resource tag
    over it (kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/aws_manager.go `buildNodeFromTemplate`).
    Nodes that advertise no whole `nvidia.com/gpu` (renamed sharing, MIG mixed strategy) get
    `resources/nvidia.com/gpu: 0`, so the template does not promise a resource the nodes never have; their
    `mlinfra.io/gpu-resource` taint keeps plain-GPU pods off as well.
    """
    resources = pool.resources_per_node()
    if GPU_RESOURCE not in resources:
        resources = {GPU_RESOURCE: 0, **resources}
    tags = {f"{AUTOSCALER_TEMPLATE}/label/{k}": v for k, v in managed_node_labels(pool).items()}
    tags.update({f"{AUTOSCALER_TEMPLATE}/taint/{t['key']}": f"{t['value']}:{t['effect']}" for t in pool.taints})
    tags.update({f"{AUTOSCALER_TEMPLATE}/resources/{k}": str(v) for k, v in resources.items()})
    return dict(sorted(tags.items()))


def _autoscaling_group_name(resources: Sequence[Any] | None) -> str:
    """The name of the Auto Scaling group EKS created for a managed node group (one per group)."""
    for resource in resources or []:
        for group in resource.autoscaling_groups or []:
            if group.name:
                return str(group.name)
    raise ValueError("the managed node group reports no Auto Scaling group to tag for the cluster autoscaler")


def _tag_resource_name(name: str, key: str) -> str:
    """A stable child name per tag key: adding a label does not rename the other tags' resources."""
    suffix = key[len(AUTOSCALER_TEMPLATE) + 1:]
    return f"{name}-ca-" + "".join(c if c.isalnum() or c in "-." else "-" for c in suffix)


@dataclass
class EksGpuNodeGroupArgs:
    """Inputs of `EksGpuNodeGroup`."""

    pool: ResolvedPool
    cluster_name: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    security_group_ids: pulumi.Input[list[str]]
    driver: str = "cloud"
    extra_tags: dict[str, str] = field(default_factory=dict)
    # The cluster's Kubernetes version; None (a referenced cluster) lets EKS pick the control plane's.
    kubernetes_version: str | None = None
    # The node role's policy attachments: the group is created after them and deleted before them.
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class EksGpuNodeGroup(pulumi.ComponentResource):
    """One EKS managed node group of GPU nodes with its launch template."""

    node_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: EksGpuNodeGroupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:aws:EksGpuNodeGroup", name, None, opts)
        from pulumi_aws import ec2, eks

        child = pulumi.ResourceOptions(parent=self)
        template = ec2.LaunchTemplate(
            f"{name}-lt", args=launch_template_args(args.pool, name, args.security_group_ids), opts=child
        )
        ng = node_group_args(args.pool, args.driver)
        self.node_group = eks.NodeGroup(
            f"{name}-ng",
            node_group_name_prefix=ng.node_group_name_prefix,
            ami_type=ng.ami_type,
            capacity_type=ng.capacity_type,
            instance_types=ng.instance_types,
            scaling_config=ng.scaling_config,
            update_config=ng.update_config,
            labels=ng.labels,
            taints=ng.taints,
            tags={**ng.tags, **args.extra_tags},
            cluster_name=args.cluster_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            version=args.kubernetes_version,
            launch_template=launch_template_ref(template),
            # The cluster autoscaler moves desired_size; a later `pulumi up` must not pull it back.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"],
                                        depends_on=list(args.depends_on)),
        )
        self.node_group_name = self.node_group.node_group_name
        # EKS does not copy node group tags to the group's ASG; the autoscaler reads the ASG, so tag it directly.
        from pulumi_aws import autoscaling

        asg_name = self.node_group.resources.apply(_autoscaling_group_name)
        for key, value in autoscaler_template_tags(args.pool).items():
            autoscaling.Tag(
                _tag_resource_name(name, key),
                autoscaling_group_name=asg_name,
                tag=autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child,
            )
        self.register_outputs({"node_group_name": self.node_group_name})
