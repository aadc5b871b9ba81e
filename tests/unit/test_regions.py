"""Regions must be real regions of the cluster's cloud; pools stay within the node counts each cloud allows."""

from __future__ import annotations

import pytest
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.catalog import regions
from mlinfra.spec import SpecError, load_environment


def env(cloud: str, region: str, **pool: object) -> dict:
    base = {"name": "p", "gpu": "L4-24GB", "max_nodes": 2, **pool}
    cluster = {"name": "c", "cloud": cloud, "region": region, "pools": [base],
               **(EKS_REACHABLE if cloud == "aws" else {"endpoint": DEPLOYERS, "project": "proj"})}
    return {"environment": "t", "clusters": [cluster]}


def problems(spec: dict) -> list[str]:
    try:
        load_environment(spec, on_warning=None)
    except SpecError as err:
        return [f"{p.path}: {p.message} (got {p.value!r})" for p in err.problems]
    return []


def test_aws_regions_are_the_pinned_providers_regions():
    # pulumi_aws/_enums.py `Region` of the pinned provider (requirements.lock) is the source of the list.
    from pulumi_aws import Region

    assert set(regions.AWS_REGIONS) == {r.value for r in Region}


def test_region_lists_are_well_formed_and_disjoint():
    assert all(r.count("-") >= 2 and r[-1].isdigit() for r in regions.AWS_REGIONS)
    assert all(r.count("-") == 1 and r[-1].isdigit() for r in regions.GCP_REGIONS)
    assert not set(regions.AWS_REGIONS) & set(regions.GCP_REGIONS)
    assert len(set(regions.GCP_REGIONS)) == len(regions.GCP_REGIONS) >= 40


@pytest.mark.parametrize(("cloud", "region"), [
    ("aws", "us-east-1"), ("aws", "eu-west-1"), ("aws", "ap-southeast-7"), ("aws", "us-gov-west-1"),
    ("gcp", "us-central1"), ("gcp", "europe-west4"), ("gcp", "asia-southeast3"), ("gcp", "africa-south1"),
])
def test_real_regions_are_accepted(cloud, region):
    assert problems(env(cloud, region, **({"instance_types": ["g6.xlarge"]} if cloud == "aws" else {}))) == []


@pytest.mark.parametrize(("cloud", "region", "words"), [
    ("gcp", "us-central9", ["not a GCP region", "closest: us-central1"]),
    ("aws", "eu-west-9", ["not an AWS region", "eu-west-1"]),
    ("aws", "us-east-7", ["not an AWS region", "us-east-1"]),
    ("gcp", "europe-west99", ["not a GCP region", "europe-west"]),
    ("aws", "US-EAST-1", ["not an AWS region"]),
    ("gcp", "us-central1-a", ["not a GCP region", "us-central1"]),  # a zone, not a region
    ("aws", "", ["not an AWS region"]),
    ("aws", "us-central1", ["us-central1 is a GCP region", "cloud is aws", "us-east-1", "set cloud: gcp"]),
    ("aws", "europe-west4", ["is a GCP region", "eu-west-"]),
    ("gcp", "eu-west-1", ["eu-west-1 is an AWS region", "cloud is gcp", "europe-west1", "set cloud: aws"]),
    ("gcp", "ap-northeast-1", ["is an AWS region", "asia-northeast1"]),
])
def test_unknown_or_foreign_regions_are_refused_with_suggestions(cloud, region, words):
    found = [p for p in problems(env(cloud, region)) if p.startswith("clusters[0].region")]
    assert len(found) == 1, found
    for word in words:
        assert word in found[0], found[0]
    assert f"(got {region!r})" in found[0]


@pytest.mark.parametrize(("cloud", "pool", "refused"), [
    ("aws", {"max_nodes": 450}, False),
    ("aws", {"max_nodes": 451}, True),
    ("aws", {"max_nodes": 100000}, True),
    ("aws", {"max_nodes": 2000, "provisioner": "karpenter"}, False),  # a NodePool limit, not a node group
    ("gcp", {"max_nodes": 3000}, False),                             # 3 default zones x 1000
    ("gcp", {"max_nodes": 3001}, True),
    ("gcp", {"max_nodes": 1000, "zones": ["us-central1-a"]}, False),
    ("gcp", {"max_nodes": 1001, "zones": ["us-central1-a"]}, True),
    ("gcp", {"max_nodes": 2001, "zones": ["us-central1-a", "us-central1-b"]}, True),
    ("gcp", {"max_nodes": 4000, "zones": ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]},
     False),
])
def test_node_counts_stay_within_what_the_cloud_allows_one_pool(cloud, pool, refused):
    region = "us-east-1" if cloud == "aws" else "us-central1"
    found = [p for p in problems(env(cloud, region, **pool)) if ".max_nodes" in p]
    assert bool(found) == refused, found
    if refused:
        limit = "450 nodes" if cloud == "aws" else "1000 nodes per zone"
        assert limit in found[0] and f"(got {pool['max_nodes']})" in found[0]


@pytest.mark.parametrize(("gpu", "cloud", "words"), [
    ("nvidia-l4", "gcp", ["GKE accelerator type", "gpu: L4-24GB"]),
    ("nvidia-h100-80gb", "gcp", ["gpu: H100-80GB"]),
    ("NVIDIA-TESLA-A100", "gcp", ["gpu: A100-40GB"]),
    ("nvidia-h200-141gb", "aws", ["gpu: H200-141GB"]),
    ("g6.xlarge", "aws", ["EC2 instance type", "gpu: L4-24GB", "instance_types"]),
    ("a3-highgpu-8g", "gcp", ["GCP machine type", "gpu: H100-80GB", "machine_type"]),
    ("H100", "aws", ["closest: H100-96GB, H100-94GB, H100-80GB"]),
    ("l40s", "aws", ["L40S-48GB"]),
    ("tesla-t4", "gcp", ["T4-16GB"]),
])
def test_gpu_names_of_a_cloud_suggest_the_catalog_model(gpu, cloud, words):
    region = "us-east-1" if cloud == "aws" else "us-central1"
    found = [p for p in problems(env(cloud, region, gpu=gpu)) if p.startswith("clusters[0].pools[0].gpu")]
    assert found, problems(env(cloud, region, gpu=gpu))
    for word in words:
        assert word in found[0], found[0]


@pytest.mark.parametrize(("pool", "cloud", "words", "not_words"), [
    # The pool's GPU decides the suggestions: L4 types for an L4 pool, never m5/p5 types.
    ({"gpu": "L4-24GB", "instance_types": ["m5.large"]}, "aws", ["types with L4-24GB", "g6."], ["p5", "m5."]),
    ({"gpu": "H100-80GB", "instance_types": ["p5.96xlarge"]}, "aws", ["types with H100-80GB", "p5.48xlarge"],
     ["g6."]),
    ({"gpu": "L4-24GB", "gpus_per_node": 4, "instance_types": ["g6.12xlarg"]}, "aws", ["g6.12xlarge"], ["p5"]),
    ({"gpu": "H100-80GB", "machine_type": "n2-standard-8"}, "gcp", ["types with H100-80GB", "a3-"], ["g2-"]),
    ({"gpu": "L4-24GB", "machine_type": "g2-standard-7"}, "gcp", ["g2-standard-8"], ["a3-", "a2-"]),
])
def test_type_suggestions_carry_the_pools_gpu(pool, cloud, words, not_words):
    region = "us-east-1" if cloud == "aws" else "us-central1"
    found = [p for p in problems(env(cloud, region, **pool)) if "instance_types" in p or "machine_type" in p]
    assert found
    for word in words:
        assert word in found[0], found[0]
    suggestions = found[0].split(":", 2)[2].split("(got")[0]
    for word in not_words:
        assert word not in suggestions.replace(str(pool.get("instance_types", [""])[0]), ""), found[0]


def test_no_machine_type_message_names_the_gpu_without_a_count():
    spec = env("gcp", "us-central1", gpu="A10G-24GB")
    found = [p for p in problems(spec) if p.startswith("clusters[0].pools[0].gpu")]
    assert found and "anyx" not in found[0] and "carries A10G-24GB" in found[0] and "GPUs on GCP:" in found[0]
