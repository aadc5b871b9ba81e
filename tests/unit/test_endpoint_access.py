"""Who deploys from where: the endpoint access model of a created cluster, and its refusals.

Sources: EKS user guide, "Cluster API server endpoint" (https://docs.aws.amazon.com/eks/latest/userguide/
cluster-endpoint.html): with the public endpoint off, API traffic must come from the VPC or a connected network
and the cluster security group must admit it on 443; `publicAccessCidrs` limits the public endpoint to the
listed ranges (EKS API reference, VpcConfigRequest). Address ranges: RFC 1918, RFC 6598, RFC 4193 (private),
RFC 5737 and RFC 3849 (documentation).
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spec_assertions import AWS_NETWORK, assert_refused

from mlinfra.checks.clouds import covers_whole_internet
from mlinfra.spec import load_environment


def env(endpoint, cloud="aws", **cluster):
    spec = {"name": "main", "cloud": cloud, "region": "us-east-1" if cloud == "aws" else "us-central1",
            "endpoint": endpoint, **cluster}
    if cloud == "aws":
        spec.setdefault("network", AWS_NETWORK)
    else:
        spec["project"] = "p"
    return {"environment": "test", "clusters": [spec]}


VALID = [
    ("public deployers only", {"public_access_cidrs": ["203.0.113.0/24"]}),
    ("private deployers only", {"private_access_cidrs": ["10.0.64.0/24"]}),
    ("both, IPv6 public", {"public_access_cidrs": ["2001:db8::/32"], "private_access_cidrs": ["10.0.0.0/16"]}),
    ("public only, private endpoint off", {"private": False, "public_access_cidrs": ["198.51.100.0/24"]}),
    ("RFC 6598 runner range", {"private_access_cidrs": ["100.64.0.0/16"]}),
    ("IPv6 unique local runner", {"private_access_cidrs": ["fd00:10::/32"]}),
    ("half the internet is not all of it", {"public_access_cidrs": ["0.0.0.0/1"]}),
]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
@pytest.mark.parametrize(("case", "endpoint"), VALID, ids=[c for c, _ in VALID])
def test_declared_deployers_load(case, endpoint, cloud):
    loaded = load_environment(env(endpoint, cloud))
    assert loaded.clusters[0].endpoint.model_dump(exclude_defaults=True) == endpoint


INVALID = [
    # (case, endpoint, path, text)
    ("nobody can reach it", {}, "clusters[0].endpoint", "no deployer can reach this cluster's API endpoint"),
    ("private off, no public ranges", {"private": False}, "clusters[0].endpoint", "no deployer can reach"),
    ("private off, only private ranges", {"private": False, "private_access_cidrs": ["10.0.0.0/16"]},
     "clusters[0].endpoint", "add `public_access_cidrs`"),
    ("private ranges with private endpoint off", {"private": False, "private_access_cidrs": ["10.0.0.0/16"],
                                                  "public_access_cidrs": ["203.0.113.0/24"]},
     "clusters[0].endpoint.private_access_cidrs", "the private endpoint is off"),
    ("whole internet", {"public_access_cidrs": ["0.0.0.0/0"]}, "clusters[0].endpoint.public_access_cidrs",
     "cover the whole internet (0.0.0.0/0)"),
    ("whole internet in halves", {"public_access_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
     "clusters[0].endpoint.public_access_cidrs", "cover the whole internet (0.0.0.0/0)"),
    ("whole internet, overlapping", {"public_access_cidrs": ["0.0.0.0/1", "64.0.0.0/2", "128.0.0.0/2",
                                                            "192.0.0.0/2", "203.0.113.0/24"]},
     "clusters[0].endpoint.public_access_cidrs", "cover the whole internet (0.0.0.0/0)"),
    ("whole IPv6 internet", {"public_access_cidrs": ["::/0"]}, "clusters[0].endpoint.public_access_cidrs",
     "cover the whole internet (::/0)"),
    ("whole IPv6 internet in halves", {"public_access_cidrs": ["::/1", "8000::/1"]},
     "clusters[0].endpoint.public_access_cidrs", "cover the whole internet (::/0)"),
    ("whole internet as private ranges", {"private_access_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
     "clusters[0].endpoint.private_access_cidrs", "cover the whole internet"),
    ("not a CIDR", {"public_access_cidrs": ["office"]}, "clusters[0].endpoint.public_access_cidrs[0]",
     "not a CIDR block"),
    ("host bits set", {"public_access_cidrs": ["203.0.113.7/24"]}, "clusters[0].endpoint.public_access_cidrs[0]",
     "has host bits set"),
    ("host bits set, private", {"private_access_cidrs": ["10.0.0.1/16"]},
     "clusters[0].endpoint.private_access_cidrs[0]", "has host bits set"),
    ("public range in the private list", {"private_access_cidrs": ["8.8.8.0/24"]},
     "clusters[0].endpoint.private_access_cidrs[0]", "not a private range"),
    ("RFC 1918 range in the public list", {"public_access_cidrs": ["203.0.113.0/24", "10.0.0.0/8"]},
     "clusters[0].endpoint.public_access_cidrs[1]", "a private range never reaches the public endpoint"),
]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
@pytest.mark.parametrize(("case", "endpoint", "path", "text"), INVALID, ids=[c[0] for c in INVALID])
def test_unreachable_or_open_endpoints_are_refused(case, endpoint, path, text, cloud):
    problems = assert_refused(env(endpoint, cloud), path, text)
    assert all(p.severity == "error" for p in problems)


def test_refusal_shows_the_value_received():
    (problem,) = assert_refused(env({"public_access_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]}),
                                "clusters[0].endpoint.public_access_cidrs", "whole internet")
    assert problem.value == ["0.0.0.0/1", "128.0.0.0/1"]


def test_referenced_cluster_needs_no_declared_deployers():
    spec = env({}, existing={"name": "shared", "kubeconfig_secret": "kc"})
    del spec["clusters"][0]["network"]
    assert load_environment(spec).clusters[0].existing is not None


def test_created_eks_cluster_needs_a_network():
    spec = env({"public_access_cidrs": ["203.0.113.0/24"]})
    del spec["clusters"][0]["network"]
    assert_refused(spec, "clusters[0].network", "needs `network`")


# Property: the union of the blocks covers the family exactly when the refusal fires, whatever the split.
def _blocks(version: int) -> st.SearchStrategy[list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    bits = 32 if version == 4 else 128
    block = st.tuples(st.integers(0, 2**bits - 1), st.integers(0, 4)).map(
        lambda t: ipaddress.ip_network((t[0], t[1]), strict=False) if version == 4
        else ipaddress.IPv6Network((t[0], t[1]), strict=False))
    return st.lists(block, max_size=12)


def _covers(blocks, version: int) -> bool:
    """Brute force over the /4 grid: every block here has prefix <= 4, so /4 cells decide coverage."""
    bits = 32 if version == 4 else 128
    cells = [(i << (bits - 4)) for i in range(16)]
    return all(any(int(b.network_address) <= c <= int(b.broadcast_address) for b in blocks) for c in cells)


@pytest.mark.parametrize("version", [4, 6])
@given(data=st.data())
def test_whole_internet_is_found_however_split(version, data):
    blocks = data.draw(_blocks(version))
    whole = "0.0.0.0/0" if version == 4 else "::/0"
    found = [str(n) for n in covers_whole_internet(blocks)]
    assert (whole in found) == _covers(blocks, version)


@given(st.permutations(["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/3"]))
def test_whole_internet_in_any_order(order):
    assert [str(n) for n in covers_whole_internet([ipaddress.ip_network(c) for c in order])] == ["0.0.0.0/0"]
