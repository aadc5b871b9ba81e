"""Cloud checks of clusters and pools: each refused spec names the field, the value and what to do."""

from __future__ import annotations

import copy

import pytest
from spec_assertions import DEPLOYERS, EKS_REACHABLE, assert_refused

from mlinfra.checks import run_checks
from mlinfra.spec import load_environment

NETWORK = {"vpc_id": "vpc-0a1b2c", "subnet_ids": ["subnet-0a1", "subnet-0b2"]}


def eks(*pools, **cluster):
    return {"environment": "t", "clusters": [{"name": "eks", "cloud": "aws", **EKS_REACHABLE,
                                              "region": "us-east-1",
                                              "network": NETWORK, "pools": list(pools), **cluster}]}


def gke(*pools, **cluster):
    base = {"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS,
            "region": "us-central1", "project": "p", "pools": list(pools)}
    base.update(cluster)
    return {"environment": "t", "clusters": [base]}


H100 = {"name": "h100", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2}
L4 = {"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2}
A3 = {"name": "a3", "machine_type": "a3-highgpu-8g", "max_nodes": 2}


def pool(base, **changes):
    out = copy.deepcopy(base)
    out.update(changes)
    return out


VALID = [
    ("EKS managed MIG", eks(pool(H100, mig={"profiles": {"1g.10gb": 7}}))),
    ("EKS Karpenter spot, several types", eks(pool(H100, provisioner="karpenter", spot=True))),
    ("EKS Bottlerocket", eks(pool(H100, ami_family="bottlerocket"))),
    ("EKS public endpoint for an office range", eks(H100, endpoint={"public_access_cidrs": ["203.0.113.0/24"]})),
    ("GKE MIG with GKE's partition count", gke(pool(A3, mig={"profiles": {"1g.10gb": 7}}))),
    ("GKE MPS", gke(pool(L4, mps={"replicas": 8}))),
    ("GKE operator driver, secure boot defaulted off", gke(L4, gpu_operator={"driver": "operator"})),
    # With the operator's MIG manager and device plugin, GKE pools accept what EKS pools accept.
    ("GKE operator: mixed MIG layout", gke(pool(A3, mig={"profiles": {"3g.40gb": 1, "2g.20gb": 2}}),
                                           gpu_operator={"driver": "operator"})),
    ("GKE operator: partial MIG layout", gke(pool(A3, mig={"profiles": {"1g.10gb": 3}}),
                                             gpu_operator={"driver": "operator"})),
    ("GKE operator: 4g profile GKE does not partition", gke(pool(A3, mig={"profiles": {"4g.40gb": 1}}),
                                                           gpu_operator={"driver": "operator"})),
    ("GKE operator: renamed time-slicing", gke(pool(L4, time_slicing={"replicas": 4, "rename_by_default": True}),
                                               gpu_operator={"driver": "operator"})),
    ("GKE operator: time-slicing on MIG, opted in",
     gke(pool(A3, mig={"profiles": {"1g.10gb": 7}}, time_slicing={"replicas": 2}),
         gpu_operator={"driver": "operator", "time_slicing_on_mig": True})),
    ("GKE native: time-sharing", gke(pool(L4, time_slicing={"replicas": 4}))),
    ("GKE native: no operator at all", gke(pool(A3, mig={"profiles": {"1g.10gb": 7}}),
                                           gpu_operator={"enabled": False})),
    ("GKE pool in named zones", gke(pool(L4, zones=["us-central1-a", "us-central1-c"]))),
    ("existing EKS cluster", {"environment": "t", "clusters": [
        {"name": "eks", "cloud": "aws",
         "region": "us-east-1", "pools": [pool(H100, provisioner="karpenter")],
         "existing": {"name": "shared", "kubeconfig_secret": "kc"}, "endpoint": {"private": False}}]}),
]


@pytest.mark.parametrize(("case", "spec"), VALID, ids=[c for c, _ in VALID])
def test_valid_cloud_specs_load(case, spec):
    env = load_environment(spec)
    assert [p for p in run_checks(env) if p.severity == "error"] == []


INVALID = [
    # (case, spec, path, text in the message)
    ("accelerator not attachable to the machine type", gke(pool(L4, gpu="H100-80GB")),
     "clusters[0].pools[0].machine_type", "machine type carries L4-24GB (nvidia-l4), not the pool's gpu H100-80GB"),
    ("MIG partition GKE does not offer", gke(pool(A3, mig={"profiles": {"4g.40gb": 1}})),
     'clusters[0].pools[0].mig.profiles["4g.40gb"]',
     "GKE does not offer partition size 4g.40gb on nvidia-h100-80gb; offered: 1g.10gb, 1g.20gb, 2g.20gb, "
     "3g.40gb, 7g.80gb"),
    ("GKE MIG count other than GKE fills", gke(pool(A3, mig={"profiles": {"1g.10gb": 3}})),
     'clusters[0].pools[0].mig.profiles["1g.10gb"]',
     "GKE fills each nvidia-h100-80gb GPU with 7 x 1g.10gb; set the count to 7"),
    ("GKE MIG with two profiles", gke(pool(A3, mig={"profiles": {"3g.40gb": 1, "1g.10gb": 2}})),
     "clusters[0].pools[0].mig.profiles", "a GKE node pool takes exactly one MIG partition size"),
    ("GKE native: mixed layout names the operator way out", gke(pool(A3, mig={"profiles": {"3g.40gb": 1,
                                                                                          "1g.10gb": 2}})),
     "clusters[0].pools[0].mig.profiles", "set gpu_operator.driver: operator so the operator's MIG manager"),
    ("GKE native: time-slicing on MIG even when opted in",
     gke(pool(A3, mig={"profiles": {"1g.10gb": 7}}, time_slicing={"replicas": 2}),
         gpu_operator={"time_slicing_on_mig": True}),
     "clusters[0].pools[0].time_slicing", "a GKE node pool with gpu_partition_size takes no gpu_sharing_config"),
    ("GKE native: time-slicing on MIG without the opt-in",
     gke(pool(A3, mig={"profiles": {"1g.10gb": 7}}, time_slicing={"replicas": 2})),
     "clusters[0].pools[0].time_slicing", "time-slicing MIG devices needs the operator's device plugin"),
    ("GKE native: mixed strategy pinned", gke(pool(A3, mig={"profiles": {"1g.10gb": 7}}),
                                              gpu_operator={"mig_strategy": "mixed"}),
     "clusters[0].gpu_operator.mig_strategy", "GKE's device plugin always uses the single MIG strategy"),
    ("GKE operator driver with the operator disabled", gke(L4, gpu_operator={"driver": "operator", "enabled": False}),
     "clusters[0].gpu_operator.enabled", "GKE installs no driver and runs no device plugin"),
    ("Karpenter spot without interruption queue",
     eks(pool(H100, provisioner="karpenter", spot=True), karpenter={"interruption_queue": False}),
     "clusters[0].pools[0].spot", "a Karpenter spot pool needs the interruption queue"),
    ("secure boot with operator-compiled driver", gke(pool(L4, secure_boot=True), gpu_operator={"driver": "operator"}),
     "clusters[0].pools[0].secure_boot", "secure boot refuses the unsigned driver the GPU operator compiles"),
    ("Karpenter on GCP", gke(pool(L4, provisioner="karpenter")), "clusters[0].pools[0].provisioner",
     "Karpenter runs on AWS only"),
    ("rename_by_default on GKE (time-slicing)", gke(pool(L4, time_slicing={"replicas": 4, "rename_by_default": True})),
     "clusters[0].pools[0].time_slicing.rename_by_default", "or set gpu_operator.driver: operator"),
    ("rename_by_default on GKE (MPS)", gke(pool(L4, mps={"replicas": 4, "rename_by_default": True})),
     "clusters[0].pools[0].mps.rename_by_default", "GKE's device plugin cannot rename shared GPUs"),
    ("GKE sharing above 48 clients", gke(pool(L4, time_slicing={"replicas": 64})),
     "clusters[0].pools[0].time_slicing.replicas", "replicas must be <= 48"),
    ("Bottlerocket with operator driver",
     eks(pool(H100, ami_family="bottlerocket"), gpu_operator={"driver": "operator"}),
     "clusters[0].pools[0].ami_family", "Bottlerocket ships its own NVIDIA driver"),
    ("ami_family on GKE", gke(pool(L4, ami_family="al2023")), "clusters[0].pools[0].ami_family",
     "ami_family is for EKS pools"),
    ("secure_boot on EKS", eks(pool(H100, secure_boot=True)), "clusters[0].pools[0].secure_boot",
     "secure_boot is for GKE pools"),
    ("endpoint open to the internet", eks(H100, endpoint={"public_access_cidrs": ["0.0.0.0/0"]}),
     "clusters[0].endpoint.public_access_cidrs", "these ranges together cover the whole internet"),
    ("endpoint CIDR malformed", eks(H100, endpoint={"public_access_cidrs": ["10.0.0.300/8"]}),
     "clusters[0].endpoint.public_access_cidrs[0]", "not a CIDR block"),
    ("endpoint reachable from nowhere", eks(H100, endpoint={"private": False}), "clusters[0].endpoint",
     "no deployer can reach this cluster's API endpoint"),
    ("subnet ID malformed", eks(H100, network={"vpc_id": "vpc-0a", "subnet_ids": ["subnet-0a", "sn-1"]}),
     "clusters[0].network.subnet_ids[1]", "not a subnet ID; expected subnet-<hex>"),
    ("one subnet only", eks(H100, network={"vpc_id": "vpc-0a", "subnet_ids": ["subnet-0a"]}),
     "clusters[0].network.subnet_ids", "List should have at least 2 items"),
    ("VPC ID malformed", eks(H100, network={"vpc_id": "default", "subnet_ids": ["subnet-0a", "subnet-0b"]}),
     "clusters[0].network.vpc_id", "not a VPC ID"),
    ("network on GKE", gke(L4, network=NETWORK), "clusters[0].network", "vpc_id and subnet_ids are for EKS clusters"),
    ("GKE without project", {"environment": "t", "clusters": [
        {"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "pools": [L4]}]},
     "clusters[0].project", "GKE clusters need `project`"),
    ("bad Karpenter duration", eks(H100, karpenter={"consolidate_after": "10 minutes"}),
     "clusters[0].karpenter.consolidate_after", "not a Karpenter duration"),
    ("AMI version not a release", eks(H100, karpenter={"ami_version": "2025-11-20"}),
     "clusters[0].karpenter.ami_version", "not an EKS AMI release: use `latest` or a tag vYYYYMMDD"),
    ("unknown AMI family", eks(pool(H100, ami_family="ubuntu")), "clusters[0].pools[0].ami_family",
     "Input should be 'al2023' or 'bottlerocket'"),
    ("zones on EKS", eks(pool(H100, zones=["us-east-1a"])), "clusters[0].pools[0].zones",
     "zones is for GCP pools"),
    ("zone of another region", gke(pool(L4, zones=["us-central1-a", "europe-west4-b"])),
     "clusters[0].pools[0].zones[1]", "not a zone of the cluster's region us-central1 (expected us-central1-<letter>"),
    ("region instead of zone", gke(pool(L4, zones=["us-central1"])), "clusters[0].pools[0].zones[0]",
     "not a zone of the cluster's region us-central1"),
    ("zone listed twice", gke(pool(L4, zones=["us-central1-a", "us-central1-a"])), "clusters[0].pools[0].zones[1]",
     "listed twice"),
]


@pytest.mark.parametrize(("case", "spec", "path", "text"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_cloud_specs_are_refused_with_path_and_message(case, spec, path, text):
    assert_refused(spec, path, text)


def test_gke_native_time_slicing_on_mig_is_refused_once_with_the_gke_reason():
    # Without the opt-in, the operator check's advice (set time_slicing_on_mig) would not help on GKE-native.
    spec = gke(pool(A3, mig={"profiles": {"1g.10gb": 7}}, time_slicing={"replicas": 2}))
    at_path = assert_refused(spec, "clusters[0].pools[0].time_slicing",
                             "time-slicing MIG devices needs the operator's device plugin")
    assert len(at_path) == 1


L4X4 = {"name": "l4x4", "gpu": "L4-24GB", "gpus_per_node": 4, "max_nodes": 2, "spot": True,
        "instance_types": ["g6.12xlarge"]}
WARNINGS = [
    ("managed spot pool with one instance type", eks(L4X4), "clusters[0].pools[0].instance_types",
     "g6.12xlarge", "add others with the same GPUs: g6.24xlarge"),
    ("Karpenter spot pool pinned to one type", eks(pool(L4X4, provisioner="karpenter")),
     "clusters[0].pools[0].instance_types", "g6.12xlarge", "add others with the same GPUs: g6.24xlarge"),
]


@pytest.mark.parametrize(("case", "spec", "path", "value", "text"), WARNINGS, ids=[c[0] for c in WARNINGS])
def test_single_type_spot_pools_load_with_a_warning(case, spec, path, value, text):
    problems = run_checks(load_environment(spec, on_warning=None))
    warnings = [p for p in problems if p.severity == "warning" and p.path == path]
    assert [p.value for p in warnings] == [value]
    assert "often out of capacity" in warnings[0].message and text in warnings[0].message
    assert not [p for p in problems if p.severity == "error"]


def test_no_warning_when_the_one_type_is_the_only_one_with_those_gpus():
    # 8x H100 comes only as p5.48xlarge: there is nothing to add.
    problems = run_checks(load_environment(eks(pool(H100, spot=True, gpus_per_node=8)), on_warning=None))
    assert [p for p in problems if p.severity == "warning"] == []


def test_spot_pool_with_several_types_has_no_warning():
    # L4 x1 comes in six g6 sizes; resolve offers them all to spot.
    env = load_environment(eks({"name": "l4", "gpu": "L4-24GB", "gpus_per_node": 1, "spot": True, "max_nodes": 2}))
    assert [p for p in run_checks(env) if p.severity == "warning"] == []
