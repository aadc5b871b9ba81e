"""GKE clusters and GPU node pools: driver ownership, MIG, sharing, spot, and the labels both clouds share."""

from __future__ import annotations

import json
from typing import Any

import pytest
from spec_assertions import EKS_REACHABLE

from mlinfra.offline.render import render_environment


def gke_spec(*pools: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    # A runner on the peered network as the deployer: the endpoint stays private.
    base = {"name": "gke", "cloud": "gcp", "endpoint": {"private_access_cidrs": ["10.0.64.0/24"]},
            "region": "us-central1", "project": "ml-prod", "pools": list(pools)}
    base.update(cluster)
    return {"environment": "t", "clusters": [base]}


def resources(spec: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    return json.loads(render_environment(spec, **kw)["resources.json"])


def node_pool(res: list[dict[str, Any]], pool: str) -> dict[str, Any]:
    (found,) = [r for r in res if r["type"] == "gcp:container/nodePool:NodePool" and r["name"] == f"gke-{pool}-pool"]
    return found


RICH = gke_spec(
    {"name": "h100-mig", "machine_type": "a3-highgpu-8g", "max_nodes": 2, "mig": {"profiles": {"1g.10gb": 7}}},
    {"name": "l4-ts", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 4, "spot": True,
     "time_slicing": {"replicas": 4}},
    {"name": "l4-mps", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "min_nodes": 1, "max_nodes": 3,
     "mps": {"replicas": 8}, "taints": [{"key": "team", "value": "nlp", "effect": "NoExecute"}]},
)


@pytest.fixture(scope="module")
def rich() -> list[dict[str, Any]]:
    return resources(RICH)


def test_created_cluster_is_private_with_workload_identity_and_shielded_nodes(rich):
    (cluster,) = [r for r in rich if r["type"] == "gcp:container/cluster:Cluster"]
    i = cluster["inputs"]
    assert cluster["provider"] == "gke-gcp"
    # The private deployer may sit in another region (behind Cloud VPN or Interconnect): global access on.
    assert i["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True,
                                         "masterIpv4CidrBlock": "172.16.0.0/28",
                                         "masterGlobalAccessConfig": {"enabled": True}}
    assert i["workloadIdentityConfig"] == {"workloadPool": "ml-prod.svc.id.goog"}
    assert i["enableShieldedNodes"] is True
    assert i["releaseChannel"] == {"channel": "REGULAR"}
    assert i["nodeConfig"]["serviceAccount"] == "gke-nodes@ml-prod.iam.gserviceaccount.com"
    assert i["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}


def test_public_endpoint_only_for_listed_cidrs():
    res = resources(gke_spec({"name": "l4", "gpu": "L4-24GB", "max_nodes": 1}, release_channel="STABLE",
                             endpoint={"public_access_cidrs": ["198.51.100.0/24"]}))
    (cluster,) = [r for r in res if r["type"] == "gcp:container/cluster:Cluster"]
    assert cluster["inputs"]["privateClusterConfig"]["enablePrivateEndpoint"] is False
    assert cluster["inputs"]["masterAuthorizedNetworksConfig"] == {
        "cidrBlocks": [{"cidrBlock": "198.51.100.0/24", "displayName": "198.51.100.0/24"}],
        "gcpPublicCidrsAccessEnabled": False}
    assert cluster["inputs"]["releaseChannel"] == {"channel": "STABLE"}


def test_nodes_run_as_a_dedicated_least_privilege_service_account(rich):
    (account,) = [r for r in rich if r["type"] == "gcp:serviceaccount/account:Account"]
    assert account["inputs"]["accountId"] == "gke-nodes"
    roles = sorted(r["inputs"]["role"] for r in rich if r["type"] == "gcp:projects/iAMMember:IAMMember")
    assert roles == ["roles/artifactregistry.reader", "roles/container.defaultNodeServiceAccount"]
    for pool in ("h100-mig", "l4-ts", "l4-mps"):
        config = node_pool(rich, pool)["inputs"]["nodeConfig"]
        assert config["serviceAccount"] == "gke-nodes@ml-prod.iam.gserviceaccount.com"
        assert "compute@developer" not in config["serviceAccount"]


@pytest.fixture(scope="module")
def rich_operator() -> list[dict[str, Any]]:
    spec = json.loads(json.dumps(RICH))
    spec["clusters"][0]["gpu_operator"] = {"driver": "operator"}
    return resources(spec)


BASE_LABELS = {"mlinfra.io/capacity-type": "on-demand", "mlinfra.io/gpu-model": "H100-80GB"}
TS_LABELS = {"mlinfra.io/capacity-type": "spot", "mlinfra.io/gpu-model": "L4-24GB", "mlinfra.io/pool": "l4-ts"}
NO_GKE_PLUGIN = {"gke-no-default-nvidia-gpu-device-plugin": "true"}

# (driver, pool, accelerator fields beyond type/count/driver, node labels)
POOLS = [
    # GKE-native: GKE partitions and shares, its device plugin advertises; no operator labels.
    ("cloud", "h100-mig", {"gpuPartitionSize": "1g.10gb"}, {**BASE_LABELS, "mlinfra.io/pool": "h100-mig"}),
    ("cloud", "l4-ts", {"gpuSharingConfig": {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4}},
     TS_LABELS),
    ("cloud", "l4-mps", {"gpuSharingConfig": {"gpuSharingStrategy": "MPS", "maxSharedClientsPerGpu": 8}},
     {"mlinfra.io/capacity-type": "on-demand", "mlinfra.io/gpu-model": "L4-24GB", "mlinfra.io/pool": "l4-mps"}),
    # GKE + operator: GKE's plugin off, nothing partitioned or shared by GKE; the operator reads the labels.
    ("operator", "h100-mig", {}, {**BASE_LABELS, "mlinfra.io/pool": "h100-mig",
                                  "nvidia.com/mig.config": "all-1g.10gb", **NO_GKE_PLUGIN}),
    ("operator", "l4-ts", {}, {**TS_LABELS, "nvidia.com/device-plugin.config": "time-slicing-4", **NO_GKE_PLUGIN}),
    ("operator", "l4-mps", {}, {"mlinfra.io/capacity-type": "on-demand", "mlinfra.io/gpu-model": "L4-24GB",
                                "mlinfra.io/pool": "l4-mps", "nvidia.com/device-plugin.config": "mps-8",
                                **NO_GKE_PLUGIN}),
]


@pytest.mark.parametrize(("driver", "pool", "extra", "labels"), POOLS, ids=[f"{d}-{p}" for d, p, _, _ in POOLS])
def test_who_partitions_shares_and_advertises_follows_the_driver(rich, rich_operator, driver, pool, extra, labels):
    config = node_pool(rich if driver == "cloud" else rich_operator, pool)["inputs"]["nodeConfig"]
    (accelerator,) = config["guestAccelerators"]
    version = "DEFAULT" if driver == "cloud" else "INSTALLATION_DISABLED"
    assert accelerator["gpuDriverInstallationConfig"] == {"gpuDriverVersion": version}
    assert {k: v for k, v in accelerator.items() if k not in ("type", "count", "gpuDriverInstallationConfig")} == extra
    assert config["labels"] == labels
    # The operator's driver container runs on Ubuntu only; GKE's own stack keeps GKE's default image (COS).
    assert config.get("imageType") == (None if driver == "cloud" else "UBUNTU_CONTAINERD")


def test_node_pool_security_scaling_spot_and_labels(rich):
    ts = node_pool(rich, "l4-ts")
    assert ts["parent"] == "gke-l4-ts" and ts["provider"] == "gke-gcp"
    i = ts["inputs"]
    config = i["nodeConfig"]
    assert config["spot"] is True
    assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert i["management"] == {"autoRepair": True, "autoUpgrade": True}
    mps = node_pool(rich, "l4-mps")["inputs"]["nodeConfig"]
    assert mps["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"},
                             {"key": "team", "value": "nlp", "effect": "NO_EXECUTE"}]


AUTOSCALING = [
    # Total bounds across the region's zones, so max_nodes is the pool's capacity; spot goes where capacity is.
    ("l4-ts", {"totalMinNodeCount": 0, "totalMaxNodeCount": 4, "locationPolicy": "ANY"}),
    ("l4-mps", {"totalMinNodeCount": 1, "totalMaxNodeCount": 3, "locationPolicy": "BALANCED"}),
]


@pytest.mark.parametrize(("pool", "expected"), AUTOSCALING, ids=[p for p, _ in AUTOSCALING])
def test_autoscaling_bounds_are_pool_totals(rich, pool, expected):
    inputs = node_pool(rich, pool)["inputs"]
    assert inputs["autoscaling"] == expected
    assert "minNodeCount" not in inputs["autoscaling"] and "maxNodeCount" not in inputs["autoscaling"]


ZONES = [
    # (zones, min_nodes, node_locations, initial_node_count per zone)
    ([], 0, None, 0),
    ([], 2, None, 2),  # the cluster's zones are unknown before it exists: min_nodes per zone, trimmed later
    (["us-central1-a", "us-central1-c"], 3, ["us-central1-a", "us-central1-c"], 2),
    (["us-central1-b"], 3, ["us-central1-b"], 3),
    (["us-central1-a", "us-central1-b", "us-central1-c"], 1, ["us-central1-a", "us-central1-b", "us-central1-c"], 1),
]


@pytest.mark.parametrize(("zones", "min_nodes", "locations", "initial"), ZONES)
def test_zones_become_node_locations_and_the_initial_count_reaches_min_nodes(zones, min_nodes, locations, initial):
    spec = {"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "min_nodes": min_nodes,
            "max_nodes": 6, "zones": zones}
    inputs = node_pool(resources(gke_spec(spec)), "l4")["inputs"]
    assert inputs.get("nodeLocations") == locations
    assert inputs["initialNodeCount"] == initial
    assert initial * max(len(zones), 1) >= min_nodes
    assert inputs["autoscaling"]["totalMinNodeCount"] == min_nodes


def test_operator_owned_driver_disables_gke_installation_and_secure_boot():
    res = resources(gke_spec({"name": "l4", "gpu": "L4-24GB", "max_nodes": 1}, gpu_operator={"driver": "operator"}))
    config = node_pool(res, "l4")["inputs"]["nodeConfig"]
    driver = config["guestAccelerators"][0]["gpuDriverInstallationConfig"]
    assert driver == {"gpuDriverVersion": "INSTALLATION_DISABLED"}
    assert config["shieldedInstanceConfig"]["enableSecureBoot"] is False
    assert config["labels"]["gke-no-default-nvidia-gpu-device-plugin"] == "true"


def test_existing_cluster_gets_pools_but_no_control_plane():
    spec = gke_spec({"name": "l4", "gpu": "L4-24GB", "max_nodes": 1},
                    existing={"name": "shared-gke", "kubeconfig_secret": "gke-kubeconfig"})
    res = resources(spec, extra_config={"mlinfra:gke-kubeconfig": "apiVersion: v1"})
    assert not [r for r in res if r["type"] == "gcp:container/cluster:Cluster"]
    assert node_pool(res, "l4")["inputs"]["cluster"] == "shared-gke"
    (provider,) = [r for r in res if r["type"] == "pulumi:providers:kubernetes"]
    assert provider["inputs"]["kubeconfig"] == "[secret]"


def test_same_pool_spec_gets_the_same_labels_and_taints_on_both_clouds():
    pool = {"name": "l4", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 2, "spot": True,
            "time_slicing": {"replicas": 4}, "labels": {"team.example.com/owner": "vision"},
            "taints": [{"key": "dedicated", "value": "inference", "effect": "NoSchedule"}]}
    native = node_pool(resources(gke_spec(pool)), "l4")["inputs"]["nodeConfig"]
    operator = node_pool(resources(gke_spec(pool, gpu_operator={"driver": "operator"})), "l4")["inputs"]["nodeConfig"]
    network = {"vpc_id": "vpc-0a", "subnet_ids": ["subnet-0a", "subnet-0b"]}
    karpenter_pool = {**pool, "name": "l4k", "provisioner": "karpenter"}
    aws_spec = {"environment": "t", "clusters": [{"name": "eks", "cloud": "aws", **EKS_REACHABLE,
                                                  "region": "us-east-1",
                                                  "network": network, "pools": [pool, karpenter_pool]}]}
    files = render_environment(aws_spec)
    aws = [r for r in json.loads(files["resources.json"]) if r["name"] == "eks-l4-ng"][0]["inputs"]
    # cluster-autoscaler's GPU label is the one label of AWS's own on managed groups (catalog/eks.py).
    aws_labels = {k: v for k, v in aws["labels"].items() if k != "k8s.amazonaws.com/accelerator"}
    assert aws["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-l4"
    # GKE with the operator's device plugin: the EKS labels, plus the one that switches GKE's plugin off.
    assert {**aws_labels, "gke-no-default-nvidia-gpu-device-plugin": "true"} == operator["labels"]
    # GKE-native: GKE shares the GPU and labels the node itself; the mlinfra.io and pool labels stay the same.
    assert {k: v for k, v in aws_labels.items() if k != "nvidia.com/device-plugin.config"} == native["labels"]
    assert aws["taints"] == native["taints"] == operator["taints"]
    nodepool = [r for r in json.loads(files["resources.json"]) if r["name"] == "eks-karpenter-l4k-nodepool"][0]
    template = nodepool["inputs"]["spec"]["template"]
    assert {**template["metadata"]["labels"], "mlinfra.io/pool": "l4"} == aws_labels
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                                          {"key": "dedicated", "value": "inference", "effect": "NoSchedule"}]


@pytest.mark.parametrize(
    "cluster",
    [
        "gke",
        "a" * 23,  # `<name>-nodes` is exactly 30 characters
        "a" * 24,  # one more: 31
        "a" * 28 + "b",  # cut at 30 the id would end in "-"
        "b" * 40,  # the longest name the spec allows
        "1gke",  # the spec allows a leading digit, an account id does not
        "train-" + "x" * 30,
    ],
)
def test_the_node_service_account_id_is_one_iam_accepts(cluster):
    # IAM API, CreateServiceAccountRequest.account_id: "unique within a project, must be 6-30 characters long,
    # and match the regular expression [a-z]([-a-z0-9]*[a-z0-9])" (google.cloud.iam_admin_v1 reference).
    import re

    res = resources(gke_spec({"name": "l4", "gpu": "L4-24GB", "max_nodes": 1, "spot": True}, name=cluster))
    (account,) = [r["inputs"]["accountId"] for r in res if r["type"] == "gcp:serviceaccount/account:Account"
                  and r["name"] == f"{cluster}-nodes"]
    assert 6 <= len(account) <= 30, account
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])", account), account


def test_long_cluster_names_with_one_prefix_get_two_node_accounts():
    from mlinfra.gcp.cluster import node_account_id

    assert node_account_id("training-cluster-east-h100-a") != node_account_id("training-cluster-east-h100-b")
    assert node_account_id("gke") == "gke-nodes"
