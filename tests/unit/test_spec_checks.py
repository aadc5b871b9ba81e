"""The environment spec: valid specs load, every invalid one is refused with path, value and advice."""

from __future__ import annotations

import copy

import pytest
from spec_assertions import AWS_NETWORK, DEPLOYERS, EKS_REACHABLE, assert_refused

from mlinfra.spec import SpecError, load_environment


def env(*pools, cloud="aws", clusters=None, **extra):
    cluster = {"name": "main", "cloud": cloud, "endpoint": DEPLOYERS,
               "region": "us-east-1" if cloud == "aws" else "us-central1",
               "pools": list(pools)}
    if cloud == "gcp":
        cluster["project"] = "p"
    else:
        cluster["network"] = AWS_NETWORK
    return {"environment": "test", "clusters": clusters or [cluster], **extra}


H100 = {"name": "h100", "gpu": "H100-80GB", "max_nodes": 2}
L4_GKE = {"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 2}


def pool(base, **changes):
    out = copy.deepcopy(base)
    out.update(changes)
    return out


VALID = [
    ("gpu only, AWS", env(H100)),
    ("instance type only", env({"name": "a", "instance_types": ["p5.48xlarge"], "max_nodes": 1})),
    ("spot with several types", env({"name": "a", "gpu": "L4-24GB", "gpus_per_node": 4, "spot": True,
                                     "instance_types": ["g6.12xlarge", "g6.24xlarge"], "max_nodes": 3})),
    ("integral float GPUs", env(pool(H100, gpus_per_node=8.0))),
    ("MIG single profile", env(pool(H100, mig={"profiles": {"1g.10gb": 7}}))),
    ("MIG mixed layout", env(pool(H100, mig={"profiles": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}}))),
    ("time-slicing", env(pool(L4_GKE, time_slicing={"replicas": 4}), cloud="gcp")),
    ("MPS", env(pool(L4_GKE, mps={"replicas": 2}), cloud="gcp")),
    ("labels and taints", env(pool(H100, labels={"team.example.com/owner": "vision"},
                                   taints=[{"key": "dedicated", "value": "training", "effect": "NoSchedule"}]))),
]


@pytest.mark.parametrize(("case", "spec"), VALID, ids=[c for c, _ in VALID])
def test_valid_specs_load(case, spec):
    assert load_environment(spec).environment == "test"


INVALID = [
    # (case, spec, path, text in the message)
    ("unknown GPU model", env(pool(H100, gpu="H100")), "clusters[0].pools[0].gpu",
     "unknown GPU model; closest: H100-96GB, H100-94GB, H100-80GB"),
    ("unknown instance type", env({"name": "a", "instance_types": ["p5.96xlarge"], "max_nodes": 1}),
     "clusters[0].pools[0].instance_types[0]", "unknown EC2 GPU instance type; closest: p5.4xlarge, p5.48xlarge"),
    ("instance type without NVIDIA GPU", env({"name": "a", "instance_types": ["g4ad.xlarge"], "max_nodes": 1}),
     "clusters[0].pools[0].instance_types[0]", "has no NVIDIA GPU (amd)"),
    ("fractional instance type", env({"name": "a", "instance_types": ["g6f.xlarge"], "max_nodes": 1}),
     "clusters[0].pools[0].instance_types[0]", "has a fractional GPU"),
    ("GPU model does not match instance type", env(pool(H100, instance_types=["p4d.24xlarge"])),
     "clusters[0].pools[0].instance_types[0]", "carries A100-40GB, not the pool's gpu H100-80GB"),
    ("GPU model does not match machine type", env(pool(L4_GKE, gpu="H100-80GB"), cloud="gcp"),
     "clusters[0].pools[0].machine_type", "carries L4-24GB (nvidia-l4), not the pool's gpu H100-80GB"),
    ("unknown machine type", env(pool(L4_GKE, machine_type="g2-standard-7"), cloud="gcp"),
     "clusters[0].pools[0].machine_type",
     "unknown GCP GPU machine type; types with L4-24GB: g2-standard-8, g2-standard-4"),
    ("no GPU count offered", env(pool(H100, gpus_per_node=4)), "clusters[0].pools[0].gpus_per_node",
     "no EC2 instance type has 4x H100-80GB; available counts: [1, 8]"),
    ("fractional GPUs", env(pool(H100, gpus_per_node=0.5)), "clusters[0].pools[0].gpus_per_node",
     "use `mig` (isolated slices, e.g. 1g.10gb) or `time_slicing`/`mps`"),
    ("min above max", env(pool(H100, min_nodes=3, max_nodes=2)), "clusters[0].pools[0].min_nodes",
     "min_nodes must be <= max_nodes (got min 3, max 2)"),
    ("max zero", env(pool(H100, max_nodes=0)), "clusters[0].pools[0].max_nodes", "max_nodes must be >= 1"),
    ("duplicate pool", env(H100, H100), "clusters[0].pools[1].name", "duplicate pool name"),
    ("duplicate cluster", env(clusters=[{"name": "c", "cloud": "aws", **EKS_REACHABLE,
                                         "region": "us-east-1", "pools": []}] * 2),
     "clusters[1].name", "duplicate cluster name"),
    ("MIG profile not offered", env(pool(H100, mig={"profiles": {"1g.5gb": 7}})),
     'clusters[0].pools[0].mig.profiles["1g.5gb"]', "H100-80GB does not offer MIG profile 1g.5gb; offered: 1g.10gb"),
    ("MIG count above max", env(pool(H100, mig={"profiles": {"3g.40gb": 3}})),
     'clusters[0].pools[0].mig.profiles["3g.40gb"]', "at most 2 x 3g.40gb fit on one H100-80GB"),
    ("MIG slices exceed the GPU", env(pool(H100, mig={"profiles": {"4g.40gb": 1, "3g.40gb": 1, "1g.10gb": 1}})),
     "clusters[0].pools[0].mig.profiles", "the layout uses 8 compute slices; one H100-80GB has 7"),
    ("MIG on a GPU without MIG", env(pool(L4_GKE, mig={"profiles": {"1g.6gb": 4}}), cloud="gcp"),
     "clusters[0].pools[0].mig.profiles", "L4-24GB has no MIG; MIG-capable GPUs: A30-24GB"),
    ("time-slicing and MPS", env(pool(L4_GKE, time_slicing={"replicas": 2}, mps={"replicas": 2}), cloud="gcp"),
     "clusters[0].pools[0].mps", "time-slicing and MPS are mutually exclusive"),
    ("sharing replicas below 2", env(pool(L4_GKE, time_slicing={"replicas": 1}), cloud="gcp"),
     "clusters[0].pools[0].time_slicing.replicas", "replicas must be >= 2"),
    ("instance types on GCP", env(pool(L4_GKE, instance_types=["g6.xlarge"]), cloud="gcp"),
     "clusters[0].pools[0].instance_types", "instance_types is for AWS pools; on GCP use machine_type"),
    ("Karpenter on GCP", env(pool(L4_GKE, provisioner="karpenter"), cloud="gcp"),
     "clusters[0].pools[0].provisioner", "Karpenter runs on AWS only"),
    ("bad label value", env(pool(H100, labels={"team": "a b"})), "clusters[0].pools[0].labels.team",
     "not a valid label value"),
    ("pool needs a GPU or type", env({"name": "a", "max_nodes": 1}), "clusters[0].pools[0]",
     "a pool needs `gpu` or `instance_types`"),
    ("unknown field", env(pool(H100, gpu_count=2)), "clusters[0].pools[0].gpu_count",
     "unknown field; check the spelling"),
    ("missing field", env({"name": "a", "gpu": "H100-80GB"}), "clusters[0].pools[0].max_nodes",
     "required field is missing"),
    ("bad name", env(pool(H100, name="H100_Pool")), "clusters[0].pools[0].name", "lowercase RFC 1123 name"),
    ("label too long for the autoscaler tag",
     env(pool(H100, labels={"a-long-team-domain.example.com/" + "l" * 63: "x"})),
     "clusters[0].pools[0].labels", "has 140 characters, Auto Scaling allows 128 (keys up to 82 characters)"),
    ("taint too long for the autoscaler tag",
     env(pool(H100, taints=[{"key": "a-long-team-domain.example.com/" + "t" * 63, "value": "a"}])),
     "clusters[0].pools[0].taints[0].key", "its cluster-autoscaler tag `k8s.io/cluster-autoscaler/node-template/"
     "taint/a-long-team-domain.example.com/"),
    ("bad cloud", env(clusters=[{"name": "c", "cloud": "azure", "region": "r"}]), "clusters[0].cloud",
     "Input should be 'aws' or 'gcp'"),
]


@pytest.mark.parametrize(("case", "spec", "path", "text"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_specs_are_refused_with_path_and_message(case, spec, path, text):
    assert_refused(spec, path, text)


def test_every_problem_is_reported_at_once():
    spec = env(
        pool(H100, gpu="H100-81GB", min_nodes=5, max_nodes=1),
        pool(H100, name="b", mig={"profiles": {"3g.40gb": 3}}, time_slicing={"replicas": 1}),
    )
    with pytest.raises(SpecError) as info:
        load_environment(spec)
    paths = {p.path for p in info.value.problems}
    assert {
        "clusters[0].pools[0].gpu",
        "clusters[0].pools[0].min_nodes",
        'clusters[0].pools[1].mig.profiles["3g.40gb"]',
        "clusters[0].pools[1].time_slicing.replicas",
    } <= paths
    assert str(info.value).startswith(f"the environment spec has {len(info.value.problems)} problem(s):")


def test_problem_shows_the_value_received():
    with pytest.raises(SpecError) as info:
        load_environment(env(pool(H100, gpus_per_node=0.5)))
    assert "(got 0.5)" in str(info.value)
