"""What a change to a resource's inputs does in the cloud: replace the resource, replace its nodes, or neither.

`mlinfra diff` flags a change from these facts only. Each entry names the provider source it was read from;
input paths are the Pulumi input names of `resources.json` (camelCase), and a path covers everything under it.

- `replace`: the provider marks the property ForceNew (Terraform) or the object field immutable
  (Kubernetes), so Pulumi deletes the resource and creates a new one.
- `nodes`: the resource is updated in place, but the update replaces its nodes (a rolling or blue-green
  node upgrade): pods are evicted and rescheduled, capacity dips while nodes roll.

How the entries were read (pinned providers: pulumi-gcp >=9,<11, pulumi-aws >=7,<8, see pyproject.toml):

- GKE (`gcp:container/*`): terraform-provider-google `google/services/container/node_config.go`
  (`schemaNodeConfig`), `resource_container_node_pool.go` (`schemaNodePool`) and `resource_container_cluster.go`
  at commit e03b7622 (2026-08-21, after v7.45.0); pulumi-gcp v9.35.0 bridges terraform-provider-google-beta
  v7.45.0 (pulumi-gcp commit 14da5bc8). `node_config.machine_type`, `disk_size_gb` and `disk_type` lost
  ForceNew in terraform-provider-google v5.10.0 (GoogleCloudPlatform/magic-modules#9575, "Do not replace GKE's
  NodePool resource on machineType/diskType/diskSizeGb change"; confirmed in hashicorp/terraform-provider-google
  #16566): GKE then migrates the pool's nodes to the new machine type / disk (`nodePools.update`: "Initiates an
  upgrade operation that migrates the nodes in the node pool to the specified ...").
- EKS (`aws:eks/*`): terraform-provider-aws `internal/service/eks/node_group.go` and `cluster.go`
  (the ForceNew attributes of `ResourceNodeGroup` / `resourceCluster`). `vpc_config.subnet_ids` and
  `security_group_ids` of a cluster are updated in place since terraform-provider-aws v5.25.0 (CHANGELOG:
  "Allow vpc_config.security_group_ids and vpc_config.subnet_ids to be updated in-place"). A node group's
  `launch_template.version`, `release_version` and `version` go through `UpdateNodegroupVersion`, which rolls
  the nodes; `labels`, `taint` and `scaling_config` go through `UpdateNodegroupConfig` ("Your node group
  continues to function during the update", EKS API reference).
- Kubernetes workloads: immutable fields of the Kubernetes API (a Deployment's, StatefulSet's and DaemonSet's
  `spec.selector`; a StatefulSet's `serviceName` and `volumeClaimTemplates`; a Job's `spec.selector` and pod
  `spec.template`); pulumi-kubernetes replaces the object when they change.
- Karpenter v1 NodePool `spec.template` and EC2NodeClass `spec`: Karpenter marks the nodes drifted and replaces
  them (Karpenter docs, "Disruption: Drift").
"""

from __future__ import annotations

from dataclasses import dataclass

TPG_SOURCE = ("hashicorp/terraform-provider-google@e03b7622 google/services/container/ (node_config.go, "
              "resource_container_node_pool.go, resource_container_cluster.go); magic-modules#9575 (v5.10.0)")
TPA_SOURCE = ("hashicorp/terraform-provider-aws internal/service/eks/node_group.go, cluster.go (ForceNew); "
              "CHANGELOG v5.25.0 for in-place vpc_config subnets/security groups")
K8S_SOURCE = "Kubernetes API: immutable fields; pulumi-kubernetes replaces the object on their change"
KARPENTER_SOURCE = "Karpenter v1 docs, Disruption: Drift (NodePool spec.template, EC2NodeClass spec)"

# node_config fields that are ForceNew in schemaNodeConfig (shared by the node pool and the cluster).
_GKE_NODE_CONFIG_FORCE_NEW = (
    "guestAccelerators", "localSsdCount", "ephemeralStorageLocalSsdConfig", "localNvmeSsdBlockConfig",
    "secondaryBootDisks", "metadata", "minCpuPlatform", "oauthScopes", "preemptible", "reservationAffinity",
    "spot", "serviceAccount", "shieldedInstanceConfig", "sandboxConfig", "bootDiskKmsKey", "nodeGroup",
    "advancedMachineFeatures", "soleTenantConfig", "hostMaintenancePolicy", "enableConfidentialStorage",
    "localSsdEncryptionMode", "maxRunDuration", "flexStart",
)


@dataclass(frozen=True)
class ChangeFacts:
    """For one resource type: input paths whose change replaces the resource, or replaces its nodes."""

    type: str
    replace: tuple[str, ...]
    nodes: tuple[str, ...]
    source: str


CHANGE_FACTS: dict[str, ChangeFacts] = {f.type: f for f in (
    ChangeFacts(
        "gcp:container/nodePool:NodePool",
        replace=("cluster", "location", "project", "name", "namePrefix", "placementPolicy", "queuedProvisioning",
                 "maxPodsPerNode", "networkConfig.createPodRange", "networkConfig.podRange",
                 "networkConfig.podIpv4CidrBlock", "networkConfig.acceleratorNetworkProfile",
                 "networkConfig.additionalNodeNetworkConfigs", "networkConfig.additionalPodNetworkConfigs",
                 *(f"nodeConfig.{f}" for f in _GKE_NODE_CONFIG_FORCE_NEW)),
        nodes=("nodeConfig.machineType", "nodeConfig.diskSizeGb", "nodeConfig.diskType", "nodeConfig.imageType",
               "version"),
        source=TPG_SOURCE,
    ),
    ChangeFacts(
        "gcp:container/cluster:Cluster",
        replace=("name", "location", "project", "network", "subnetwork", "clusterIpv4Cidr", "description",
                 "enableKubernetesAlpha", "enableTpu", "enableAutopilot", "confidentialNodes", "nodePools",
                 "ipAllocationPolicy", "networkingMode", "defaultMaxPodsPerNode", "datapathProvider",
                 "dataplaneOptimizationMode", "privateClusterConfig.masterIpv4CidrBlock",
                 "privateClusterConfig.privateEndpointSubnetwork",
                 *(f"nodeConfig.{f}" for f in _GKE_NODE_CONFIG_FORCE_NEW)),
        nodes=(),
        source=TPG_SOURCE,
    ),
    ChangeFacts(
        "aws:eks/nodeGroup:NodeGroup",
        replace=("amiType", "capacityType", "clusterName", "diskSize", "instanceTypes", "launchTemplate.id",
                 "launchTemplate.name", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess",
                 "subnetIds"),
        nodes=("launchTemplate.version", "releaseVersion", "version"),
        source=TPA_SOURCE,
    ),
    ChangeFacts(
        "aws:eks/cluster:Cluster",
        replace=("name", "roleArn", "bootstrapSelfManagedAddons",
                 "accessConfig.bootstrapClusterCreatorAdminPermissions", "kubernetesNetworkConfig.ipFamily",
                 "kubernetesNetworkConfig.serviceIpv4Cidr",
                 "outpostConfig.controlPlaneInstanceType", "outpostConfig.controlPlanePlacement"),
        nodes=(),
        source=TPA_SOURCE,
    ),
    ChangeFacts("kubernetes:apps/v1:Deployment", ("spec.selector",), (), K8S_SOURCE),
    ChangeFacts("kubernetes:apps/v1:StatefulSet", ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"),
                (), K8S_SOURCE),
    ChangeFacts("kubernetes:apps/v1:DaemonSet", ("spec.selector",), (), K8S_SOURCE),
    ChangeFacts("kubernetes:batch/v1:Job", ("spec.selector", "spec.template", "spec.completions"), (), K8S_SOURCE),
    ChangeFacts("kubernetes:karpenter.sh/v1:NodePool", (), ("spec.template",), KARPENTER_SOURCE),
    ChangeFacts("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", (), ("spec",), KARPENTER_SOURCE),
)}

# A MIG layout change is applied by the GPU operator's MIG manager on every node of the pool: it needs the
# GPUs free of user workloads (NVIDIA GPU Operator docs, "GPU Operator with MIG": "MIG Manager requires that no
# user workloads are running on the GPUs being configured"; on cloud VMs the node may reboot).
MIG_REPARTITION_SOURCE = ("https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-mig.html "
                          "(MIG Manager requires that no user workloads are running on the GPUs being configured)")
