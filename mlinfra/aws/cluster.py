"""An EKS cluster, created with secure defaults or referenced, plus its GPU node groups and Karpenter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.aws.node_group import hardened_launch_template_args, launch_template_ref
from mlinfra.catalog import eks as eks_catalog
from mlinfra.context import cloud_cluster
from mlinfra.spec.clusters import AwsNetwork, ClusterSpec, KarpenterSpec
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import ResolvedPool

if TYPE_CHECKING:
    from pulumi_aws import eks, vpc

# AWS-managed policies every EKS node needs to join the cluster, run the VPC CNI, pull images and take SSM
# sessions; the cluster role's policy.
NODE_POLICIES = eks_catalog.NODE_POLICIES
CLUSTER_POLICY = eks_catalog.CLUSTER_POLICY
# The default StorageClass mlinfra creates on EKS: gp3, encrypted, bound where the pod lands.
STORAGE_CLASS = "gp3-encrypted"
SYSTEM_INSTANCE_TYPE = "m6i.large"
# The system nodes' AL2023 root volume, which holds their container images.
SYSTEM_ROOT_DEVICE = "/dev/xvda"
SYSTEM_VOLUME_GIB = 50


def _trust(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
                       "Action": ["sts:AssumeRole", "sts:TagSession"] if service == "eks.amazonaws.com"
                       else "sts:AssumeRole"}],
    }, sort_keys=True)


CLUSTER_TRUST = _trust("eks.amazonaws.com")
NODE_TRUST = _trust("ec2.amazonaws.com")


@dataclass
class EksClusterArgs:
    """Inputs of `EksCluster`; built from the spec by `eks_cluster_args`, or by hand in a team stack."""

    cluster_name: pulumi.Input[str]
    region: str
    kubernetes_version: str = eks_catalog.DEFAULT_KUBERNETES_VERSION
    subnet_ids: list[str] = field(default_factory=list)
    endpoint_private: bool = True
    endpoint_public_access_cidrs: list[str] = field(default_factory=list)
    endpoint_private_access_cidrs: list[str] = field(default_factory=list)
    control_plane_logs: list[str] = field(default_factory=lambda: ["api", "audit", "authenticator"])
    existing_kubeconfig: pulumi.Input[str] | None = None
    pools: list[ResolvedPool] = field(default_factory=list)
    driver: str = "cloud"
    karpenter: KarpenterSpec = field(default_factory=KarpenterSpec)
    system_instance_type: str = SYSTEM_INSTANCE_TYPE
    tags: dict[str, str] = field(default_factory=dict)


def vpc_config(args: EksClusterArgs, subnet_ids: pulumi.Input[list[str]]) -> eks.ClusterVpcConfigArgsDict:
    """The cluster's endpoint access: private as the spec says, public only for listed deployer CIDRs."""
    public = bool(args.endpoint_public_access_cidrs)
    vpc: eks.ClusterVpcConfigArgsDict = {
        "subnet_ids": subnet_ids,
        "endpoint_private_access": args.endpoint_private,
        "endpoint_public_access": public,
    }
    if public:
        vpc["public_access_cidrs"] = list(args.endpoint_public_access_cidrs)
    return vpc


def upgrade_policy() -> eks.ClusterUpgradePolicyArgsDict:
    """STANDARD: at the end of standard support EKS upgrades the cluster instead of billing extended support
    (EKS user guide, "Manage EKS extended support", supportType)."""
    return {"support_type": "STANDARD"}


def encryption_config(key_arn: pulumi.Input[str]) -> eks.ClusterEncryptionConfigArgs:
    """Envelope encryption of Kubernetes Secrets with the cluster's own KMS key (EKS user guide, "Encrypt
    Kubernetes secrets with KMS on existing clusters")."""
    from pulumi_aws import eks

    return eks.ClusterEncryptionConfigArgs(provider=eks.ClusterEncryptionConfigProviderArgs(key_arn=key_arn),
                                           resources=["secrets"])


def access_config() -> eks.ClusterAccessConfigArgsDict:
    """Access entries (authentication mode API) replace the aws-auth ConfigMap."""
    return {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True}


def endpoint_ingress_args(
    args: EksClusterArgs, security_group_id: pulumi.Input[str]
) -> dict[str, vpc.SecurityGroupIngressRuleArgs]:
    """Per private deployer range (by its resource-name slug), TCP 443 into the cluster security group.

    With the public endpoint off (or limited), a deployer inside the VPC or a connected network reaches the API
    server through the control plane's ENIs, which the cluster security group guards; EKS's own rules admit
    only the cluster's nodes, so each declared range is admitted on 443 explicitly (EKS user guide, "Cluster
    API server endpoint", private access). The family decides `cidr_ipv4` or `cidr_ipv6`.
    """
    from pulumi_aws import vpc

    rules = {}
    for cidr in args.endpoint_private_access_cidrs:
        v6 = ":" in cidr
        rules[_cidr_slug(cidr)] = vpc.SecurityGroupIngressRuleArgs(
            security_group_id=security_group_id, ip_protocol="tcp", from_port=443, to_port=443,
            cidr_ipv4=None if v6 else cidr, cidr_ipv6=cidr if v6 else None,
            description=f"Kubernetes API from deployers in {cidr}",
        )
    return rules


def kubeconfig(name: str, endpoint: str, ca: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (no long-lived credentials in the stack)."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {name}\n  cluster:\n    server: {endpoint}\n    certificate-authority-data: {ca}\n"
        f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n"
        f"current-context: {name}\n"
        f"users:\n- name: {name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        f"      command: aws\n      args: [eks, get-token, --cluster-name, {name}, --region, {region}]\n"
    )


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster and its GPU pools, with an AWS provider and a Kubernetes provider for the add-ons.

    Created clusters get a KMS key for Secrets encryption, a private endpoint (public only for listed
    CIDRs), control-plane logging, an OIDC provider for IRSA and a small system node group. Referenced
    clusters (`existing_kubeconfig`) only get node groups and Karpenter.
    """

    k8s_provider: k8s.Provider
    cloud_provider: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]
    identity: dict[str, pulumi.Input[str]]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:aws:EksCluster", name, None, opts)
        from pulumi_aws import Provider, cloudwatch, eks, iam, kms, vpc

        self.cloud_provider = Provider(f"{name}-aws", region=args.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.cloud_provider)
        self.identity = {}
        self.cluster: eks.Cluster | None = None

        self.storage_class: str | None = None
        self.node_role = iam.Role(f"{name}-node-role", assume_role_policy=NODE_TRUST, opts=child)
        # Node groups wait for every policy of their role, and are deleted before any of them.
        self.node_role_policies: list[pulumi.Resource] = [
            iam.RolePolicyAttachment(f"{name}-node-role-{i}", role=self.node_role.name, policy_arn=policy, opts=child)
            for i, policy in enumerate(NODE_POLICIES)
        ]

        subnet_ids: pulumi.Input[list[str]] = list(args.subnet_ids)
        if not args.subnet_ids and args.existing_kubeconfig is None:
            # Looking subnets up by tag would span every VPC of the region and could mix networks.
            raise pulumi.InputPropertyError("subnet_ids", "a created EKS cluster needs the private subnets of one "
                                            "VPC (two or more availability zones)")
        if args.existing_kubeconfig is None:
            key = kms.Key(f"{name}-secrets-key", description=f"EKS Secrets encryption for {name}",
                          enable_key_rotation=True, deletion_window_in_days=30, opts=child)
            role = iam.Role(f"{name}-cluster-role", assume_role_policy=CLUSTER_TRUST, opts=child)
            attach = iam.RolePolicyAttachment(f"{name}-cluster-role-policy", role=role.name,
                                              policy_arn=CLUSTER_POLICY, opts=child)
            # The role uses the Secrets key itself; the cluster is created after this grant and deleted before it.
            key_access = iam.RolePolicy(f"{name}-cluster-encryption", role=role.id,
                                        policy=key.arn.apply(eks_catalog.cluster_encryption_policy), opts=child)
            # EKS creates the group on first log line with no retention; created first, it keeps 90 days.
            log_group = pulumi.Output.from_input(args.cluster_name).apply(eks_catalog.control_plane_log_group)
            logs = cloudwatch.LogGroup(
                f"{name}-control-plane-logs", name=log_group,
                retention_in_days=eks_catalog.CONTROL_PLANE_LOG_RETENTION_DAYS, opts=child)
            self.cluster = eks.Cluster(
                f"{name}-eks",
                name=args.cluster_name,
                version=args.kubernetes_version,
                role_arn=role.arn,
                encryption_config=encryption_config(key.arn),
                vpc_config=vpc_config(args, subnet_ids),
                enabled_cluster_log_types=list(args.control_plane_logs),
                access_config=access_config(),
                upgrade_policy=upgrade_policy(),
                deletion_protection=True,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, provider=self.cloud_provider,
                                            depends_on=[attach, key_access, logs]),
            )
            cluster_name: pulumi.Input[str] = self.cluster.name
            issuer_url = self.cluster.identities.apply(_oidc_issuer)
            oidc = iam.OpenIdConnectProvider(f"{name}-oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"],
                                             opts=child)
            self.identity = {
                "oidc_provider_arn": oidc.arn,
                "oidc_issuer": issuer_url.apply(lambda u: u.removeprefix("https://")),
            }
            self.kubeconfig = pulumi.Output.secret(
                pulumi.Output.all(self.cluster.name, self.cluster.endpoint,
                                  self.cluster.certificate_authority.apply(lambda c: c.data)).apply(
                    lambda a: kubeconfig(a[0], a[1], a[2], args.region))
            )
            security_groups: pulumi.Input[list[str]] = self.cluster.vpc_config.apply(
                lambda v: [sg for sg in [v.cluster_security_group_id] if sg])
            cluster_sg = self.cluster.vpc_config.apply(lambda v: str(v.cluster_security_group_id))
            self.endpoint_rules = [
                vpc.SecurityGroupIngressRule(f"{name}-api-from-{slug}", args=rule, opts=child)
                for slug, rule in endpoint_ingress_args(args, cluster_sg).items()
            ]
            before_nodes = _core_addons(name, self.cluster, args.kubernetes_version, CORE_BEFORE_NODES, [], child)
            system = _system_node_group(
                name, args, self.cluster.name, self.node_role.arn, subnet_ids, security_groups,
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                    depends_on=[*self.node_role_policies, *before_nodes])))
            after_nodes = _core_addons(name, self.cluster, args.kubernetes_version, CORE_AFTER_NODES, [system], child)
            ebs = _ebs_csi_addon(name, self.cluster, args.kubernetes_version, [system, *before_nodes], child)
            node_deps: list[pulumi.Resource] = [self.cluster, system, *after_nodes, ebs]
        else:
            self.kubeconfig = pulumi.Output.secret(args.existing_kubeconfig)
            cluster_name = args.cluster_name
            found = eks.get_cluster_output(name=args.cluster_name, opts=pulumi.InvokeOutputOptions(
                parent=self, provider=self.cloud_provider))
            subnet_ids = list(args.subnet_ids) if args.subnet_ids else found.vpc_config.subnet_ids
            security_groups = found.vpc_config.cluster_security_group_id.apply(lambda sg: [sg])
            node_deps = []

        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self, depends_on=node_deps)
        )
        from mlinfra.aws.karpenter import Karpenter, KarpenterArgs, karpenter_pools
        from mlinfra.aws.node_group import EksGpuNodeGroup, EksGpuNodeGroupArgs

        if self.cluster is not None:
            self.storage_class = STORAGE_CLASS
            k8s.storage.v1.StorageClass(
                f"{name}-storage-class", opts=pulumi.ResourceOptions(parent=self, provider=self.k8s_provider),
                **storage_class_manifest())
        # Node groups run the cluster's version, so an upgrade moves control plane and nodes together.
        node_version = args.kubernetes_version if self.cluster is not None else None
        self.node_groups = [
            EksGpuNodeGroup(
                f"{name}-{pool.name}",
                EksGpuNodeGroupArgs(pool=pool, cluster_name=cluster_name, node_role_arn=self.node_role.arn,
                                    subnet_ids=subnet_ids, security_group_ids=security_groups, driver=args.driver,
                                    extra_tags=dict(args.tags), kubernetes_version=node_version,
                                    depends_on=list(self.node_role_policies)),
                child,
            )
            for pool in args.pools
            if pool.spec.provisioner == "managed"
        ]
        if autoscaled_pools(args.pools):
            from mlinfra.aws.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs

            ClusterAutoscaler(
                f"{name}-cluster-autoscaler",
                ClusterAutoscalerArgs(cluster_name=cluster_name, region=args.region,
                                      kubernetes_version=args.kubernetes_version),
                pulumi.ResourceOptions(parent=self, providers={"aws": self.cloud_provider,
                                                               "kubernetes": self.k8s_provider}),
            )
        self.karpenter: Karpenter | None = None
        if karpenter_pools(args.pools):
            self.karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(
                    cluster_name=cluster_name, region=args.region, pools=karpenter_pools(args.pools),
                    settings=args.karpenter, subnet_ids=subnet_ids,
                    security_group_ids=security_groups, kubernetes_version=args.kubernetes_version,
                    driver=args.driver, oidc_provider_arn=self.identity.get("oidc_provider_arn"),
                    oidc_issuer=self.identity.get("oidc_issuer"),
                ),
                pulumi.ResourceOptions(parent=self, providers={"aws": self.cloud_provider,
                                                               "kubernetes": self.k8s_provider}),
            )
        self.register_outputs({"kubeconfig": self.kubeconfig, "cluster_name": cluster_name,
                               "storage_class": self.storage_class})


# Add-ons the nodes need to become Ready (networking, kube-proxy, credentials for pods) go first; CoreDNS and the
# EBS CSI driver run pods, so EKS reports them healthy only once nodes exist (terraform-aws-eks `before_compute`).
CORE_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
CORE_AFTER_NODES = ("coredns",)
assert set(CORE_BEFORE_NODES + CORE_AFTER_NODES) == set(eks_catalog.CORE_ADDONS)


def autoscaled_pools(pools: list[ResolvedPool]) -> list[ResolvedPool]:
    """Managed pools whose size can change: the ones cluster-autoscaler has to scale."""
    return [p for p in pools if p.spec.provisioner == "managed" and p.spec.min_nodes < p.spec.max_nodes]


def storage_class_manifest() -> dict[str, Any]:
    """The cluster's default StorageClass: EBS gp3, encrypted, bound in the zone of the pod that claims it.

    EKS marks no class as default since 1.30 and the in-tree EBS plugin is gone, so without it every PVC with no
    class (Prometheus') stays Pending (EKS user guide, "Store Kubernetes volumes with Amazon EBS"; ai-on-eks
    creates the same gp3 default class)."""
    return {
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": eks_catalog.EBS_CSI_PROVISIONER,
        "parameters": {"type": "gp3", "encrypted": "true", "fsType": "ext4"},
        "reclaim_policy": "Delete",
        "volume_binding_mode": "WaitForFirstConsumer",
        "allow_volume_expansion": True,
    }


def _addon_version(addon: str, kubernetes_version: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The version EKS names as default for `addon` on `kubernetes_version` (DescribeAddonVersions)."""
    from pulumi_aws import eks

    found = eks.get_addon_version_output(addon_name=addon, kubernetes_version=kubernetes_version, most_recent=False,
                                         opts=pulumi.InvokeOutputOptions(parent=opts.parent, provider=opts.provider))
    return found.version


def _core_addons(name: str, cluster: eks.Cluster, version: str, addons: tuple[str, ...],
                 depends_on: list[pulumi.Resource], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """EKS-managed add-ons at the default version for the cluster's Kubernetes version. OVERWRITE takes over the
    self-managed copies EKS installs at creation."""
    from pulumi_aws import eks

    return [
        eks.Addon(f"{name}-{addon}", cluster_name=cluster.name, addon_name=addon,
                  addon_version=_addon_version(addon, version, opts),
                  resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
                  opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)))
        for addon in addons
    ]


def _ebs_csi_addon(name: str, cluster: eks.Cluster, version: str, depends_on: list[pulumi.Resource],
                   opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """The aws-ebs-csi-driver add-on, its controller authenticated by EKS Pod Identity with a role that holds
    AmazonEBSCSIDriverPolicy (EKS user guide, "Store Kubernetes volumes with Amazon EBS")."""
    from pulumi_aws import eks, iam

    from mlinfra.aws.karpenter import POD_IDENTITY_TRUST

    role = iam.Role(f"{name}-ebs-csi", assume_role_policy=POD_IDENTITY_TRUST, opts=opts)
    attach = iam.RolePolicyAttachment(f"{name}-ebs-csi-policy", role=role.name,
                                      policy_arn=eks_catalog.EBS_CSI_POLICY, opts=opts)
    namespace, account = eks_catalog.EBS_CSI_SERVICE_ACCOUNT
    del namespace  # the add-on installs into kube-system; the association names only the service account
    return eks.Addon(
        f"{name}-{eks_catalog.EBS_CSI_ADDON}", cluster_name=cluster.name, addon_name=eks_catalog.EBS_CSI_ADDON,
        addon_version=_addon_version(eks_catalog.EBS_CSI_ADDON, version, opts),
        pod_identity_associations=[eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=account)],
        resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*depends_on, attach])))


def _cidr_slug(cidr: str) -> str:
    """A resource-name-safe form of a CIDR (`10.0.64.0/24` -> `10-0-64-0-24`), stable per range."""
    return "".join(c if c.isalnum() else "-" for c in cidr).strip("-")


def _oidc_issuer(identities: Any) -> str:
    """The issuer URL of a created cluster's OIDC identity (EKS always reports exactly one)."""
    return str(identities[0].oidcs[0].issuer)


def _system_node_group(
    name: str, args: EksClusterArgs, cluster_name: pulumi.Input[str], role_arn: pulumi.Input[str],
    subnet_ids: pulumi.Input[list[str]], security_group_ids: pulumi.Input[list[str]], opts: pulumi.ResourceOptions,
) -> pulumi.Resource:
    """A small on-demand node group for CoreDNS, Karpenter and the add-ons, which GPU taints keep off GPU nodes."""
    from pulumi_aws import ec2, eks

    # The hardened template the GPU pools use, on the root volume. Its metadata options never named
    # instance_metadata_tags; EC2's default is the same (disabled), and naming it now would publish a new template
    # version and roll every system node of clusters already running.
    template = ec2.LaunchTemplate(
        f"{name}-default-lt",
        args=hardened_launch_template_args(f"{name}-system-", SYSTEM_ROOT_DEVICE, SYSTEM_VOLUME_GIB,
                                           security_group_ids, instance_metadata_tags=None),
        opts=opts,
    )
    return eks.NodeGroup(
        f"{name}-default",
        cluster_name=cluster_name,
        node_group_name_prefix="system-",
        version=args.kubernetes_version,
        node_role_arn=role_arn,
        subnet_ids=subnet_ids,
        ami_type="AL2023_x86_64_STANDARD",
        capacity_type="ON_DEMAND",
        instance_types=[args.system_instance_type],
        scaling_config=eks.NodeGroupScalingConfigArgs(min_size=2, max_size=4, desired_size=2),
        launch_template=launch_template_ref(template),
        labels={"mlinfra.io/pool": "system"},
        tags=dict(args.tags),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"])),
    )


def eks_cluster_args(env: EnvironmentSpec, spec: ClusterSpec, pools: list[ResolvedPool]) -> EksClusterArgs:
    """The `EksCluster` inputs a cluster spec asks for."""
    name, existing = cloud_cluster(env, spec)
    return EksClusterArgs(
        cluster_name=name,
        region=spec.region,
        kubernetes_version=spec.kubernetes_version or eks_catalog.DEFAULT_KUBERNETES_VERSION,
        subnet_ids=list(spec.network.subnet_ids) if isinstance(spec.network, AwsNetwork) else [],
        endpoint_private=spec.endpoint.private,
        endpoint_public_access_cidrs=list(spec.endpoint.public_access_cidrs),
        endpoint_private_access_cidrs=list(spec.endpoint.private_access_cidrs),
        control_plane_logs=list(spec.control_plane_logs),
        existing_kubeconfig=existing,
        pools=pools,
        driver=spec.gpu_operator.driver,
        karpenter=spec.karpenter,
        tags={"mlinfra.io/environment": env.environment, "mlinfra.io/cluster": spec.name},
    )


def build_cluster(
    env: EnvironmentSpec, spec: ClusterSpec, pools: list[ResolvedPool], opts: pulumi.ResourceOptions
) -> EksCluster:
    """The EKS cluster of a cluster spec, with its pools."""
    return EksCluster(spec.name, eks_cluster_args(env, spec, pools), opts)
