"""Karpenter node image pins: one per image family (`ami_version` for AL2023, `bottlerocket_version` for
Bottlerocket), each in its image's own release format, and the unpinned-image rule per family a Karpenter pool uses.

Sources: EC2NodeClass CRD v1.14.1 `amiSelectorTerms.alias` ("al2023@v20240625" or "bottlerocket@v1.10.0");
Karpenter docs, "Managing AMIs" (pin in production); catalog/eks.py for the confirmed releases.
"""

from __future__ import annotations

from datetime import date

import pytest
from spec_assertions import AWS_NETWORK, DEPLOYERS, assert_refused

from mlinfra.catalog import eks as eks_catalog
from mlinfra.checks.clouds import check
from mlinfra.spec import EnvironmentSpec, load_environment

TODAY = date(2026, 11, 30)
AMI = max(eks_catalog.EKS_AMI_RELEASES)
BOTTLEROCKET = max(eks_catalog.BOTTLEROCKET_RELEASES)
AL2023_POOL = {"name": "al", "gpu": "H100-80GB", "max_nodes": 2, "provisioner": "karpenter"}
BR_POOL = {"name": "br", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
           "provisioner": "karpenter", "ami_family": "bottlerocket"}
MANAGED_BR_POOL = {"name": "mbr", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
                   "ami_family": "bottlerocket"}


def env(environment="staging", pools=(AL2023_POOL,), **karpenter):
    return {"environment": environment, "clusters": [{
        "name": "eks", "cloud": "aws", "region": "us-east-1", "endpoint": DEPLOYERS, "network": AWS_NETWORK,
        "pools": list(pools), "karpenter": karpenter}]}


def pin_problems(spec):
    """The cloud checks' problems at a karpenter image pin: {(path, severity): message}."""
    found = check(EnvironmentSpec.model_validate(spec), TODAY)
    return {(p.path, p.severity): p.message for p in found
            if p.path.endswith(("karpenter.ami_version", "karpenter.bottlerocket_version"))}


VALID = [
    # (case, field, value)
    ("AMI latest", "ami_version", "latest"),
    ("AMI release date", "ami_version", "v20260714"),
    ("Bottlerocket latest", "bottlerocket_version", "latest"),
    ("Bottlerocket release", "bottlerocket_version", "v1.64.0"),
    ("Bottlerocket one-digit parts", "bottlerocket_version", "v1.9.2"),
    ("Bottlerocket widest", "bottlerocket_version", "v999.999.999"),
]


@pytest.mark.parametrize(("case", "field", "value"), VALID, ids=[v[0] for v in VALID])
def test_valid_pins_load_and_reach_the_spec(case, field, value):
    loaded = load_environment(env(pools=(AL2023_POOL, BR_POOL), **{field: value}))
    assert getattr(loaded.clusters[0].karpenter, field) == value


INVALID = [
    # (case, field, value, text of the message)
    ("EKS AMI date as a Bottlerocket release", "bottlerocket_version", "v20260714", "not a Bottlerocket release"),
    ("Bottlerocket release without v", "bottlerocket_version", "1.64.0", "not a Bottlerocket release"),
    ("Bottlerocket release without patch", "bottlerocket_version", "v1.64", "not a Bottlerocket release"),
    ("Bottlerocket pre-release", "bottlerocket_version", "v1.64.0-rc1", "not a Bottlerocket release"),
    ("whole alias", "bottlerocket_version", "bottlerocket@v1.64.0", "not a Bottlerocket release"),
    # bottlerocket@ plus more than 12 characters would pass the alias's 30-character limit (EC2NodeClass CRD).
    ("part over three digits", "bottlerocket_version", "v1000.0.0", "not a Bottlerocket release"),
    ("Latest capitalised", "bottlerocket_version", "Latest", "not a Bottlerocket release"),
    ("empty", "bottlerocket_version", "", "not a Bottlerocket release"),
    ("Bottlerocket release as an EKS AMI", "ami_version", "v1.64.0", "not an EKS AMI release"),
    ("AMI date with dashes", "ami_version", "2026-07-14", "not an EKS AMI release"),
]


@pytest.mark.parametrize(("case", "field", "value", "text"), INVALID, ids=[i[0] for i in INVALID])
def test_invalid_pins_are_refused_with_path_value_and_what_is_allowed(case, field, value, text):
    (problem, *_) = assert_refused(env(**{field: value}), f"clusters[0].karpenter.{field}", text)
    assert problem.value == value
    # What is allowed: latest, or a release of that family's own format, named from the catalog.
    example = BOTTLEROCKET if field == "bottlerocket_version" else AMI
    assert "`latest`" in problem.message and example in problem.message


AMI_PATH = "clusters[0].karpenter.ami_version"
BR_PATH = "clusters[0].karpenter.bottlerocket_version"
CHECKS = [
    # (case, environment, pools, pins, expected {(path, severity)})
    ("AL2023 pool unpinned in prod", "prod", (AL2023_POOL,), {}, {(AMI_PATH, "error")}),
    ("Bottlerocket pool unpinned in prod", "prod", (BR_POOL,), {}, {(BR_PATH, "error")}),
    # The fault: an AMI date pinned, the Bottlerocket pool's own pin left at latest.
    ("Bottlerocket pool, only the AMI pinned, prod", "prod", (BR_POOL,), {"ami_version": AMI}, {(BR_PATH, "error")}),
    ("Bottlerocket pool pinned, prod", "prod", (BR_POOL,), {"bottlerocket_version": BOTTLEROCKET}, set()),
    ("AL2023 pool pinned, Bottlerocket pin unused", "prod", (AL2023_POOL,), {"ami_version": AMI}, set()),
    ("AL2023 pool, only the Bottlerocket pin set", "prod", (AL2023_POOL,), {"bottlerocket_version": BOTTLEROCKET},
     {(AMI_PATH, "error")}),
    ("both families unpinned elsewhere", "staging", (AL2023_POOL, BR_POOL), {},
     {(AMI_PATH, "warning"), (BR_PATH, "warning")}),
    ("both families, AMI pinned, prod", "prod", (AL2023_POOL, BR_POOL), {"ami_version": AMI}, {(BR_PATH, "error")}),
    ("both families pinned, prod", "prod", (AL2023_POOL, BR_POOL),
     {"ami_version": AMI, "bottlerocket_version": BOTTLEROCKET}, set()),
    # Managed node groups take EKS's AMI type, not these pins.
    ("managed Bottlerocket pool only", "prod", (MANAGED_BR_POOL,), {}, set()),
]


@pytest.mark.parametrize(("case", "environment", "pools", "pins", "expected"), CHECKS, ids=[c[0] for c in CHECKS])
def test_unpinned_image_per_family_a_karpenter_pool_uses(case, environment, pools, pins, expected):
    assert set(pin_problems(env(environment, pools, **pins))) == expected


@pytest.mark.parametrize(("family", "path", "pool"), [("al2023", AMI_PATH, AL2023_POOL),
                                                        ("bottlerocket", BR_PATH, BR_POOL)])
def test_the_suggested_pin_is_a_catalog_release_for_the_clusters_version(family, path, pool):
    (message,) = pin_problems(env("staging", (pool,))).values()
    releases = eks_catalog.node_image_releases(family)
    named = [r for r in releases if f"such as {r}" in message]
    assert named, message
    assert eks_catalog.DEFAULT_KUBERNETES_VERSION in releases[named[0]]
    assert pool["name"] in message


def test_prod_refuses_a_bottlerocket_karpenter_pool_pinned_only_by_ami_version():
    assert_refused(env("prod", (BR_POOL,), ami_version=AMI), BR_PATH, "unpinned node image")


def test_the_newest_release_is_chosen_by_number_not_by_text(monkeypatch):
    monkeypatch.setattr(eks_catalog, "BOTTLEROCKET_RELEASES", {"v1.9.0": ("1.35",), "v1.10.0": ("1.35",),
                                                              "v1.11.0": ("1.34",)})
    assert eks_catalog.suggested_release("bottlerocket", "1.35") == "v1.10.0"
    # No release ships the minor: the newest of all (the version check refuses the minor itself).
    assert eks_catalog.suggested_release("bottlerocket", "1.99") == "v1.11.0"
