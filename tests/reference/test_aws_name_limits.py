"""AWS names mlinfra leaves to the provider fit AWS's limits, or the spec is refused before anything is created.

The facts:

- pulumi/pulumi-aws provider/resource_overrides.go: an unnamed `aws_iam_role` and `aws_cloudwatch_event_rule` are
  named `AutoName("name", 64, "-")`, an `aws_sqs_queue` with Maxlen 80, Randlen 7: `<resource name>-<7 random>`;
  pulumi/pulumi sdk/go/common/resource `NewUniqueHex` refuses a longer one ("name '<name>-' plus 7 random chars is
  longer than maximum length 64"), so `pulumi up` fails at that resource.
- pulumi-aws 7.51.1 cloudwatch.EventRule `name_prefix`: "must be 38 characters or less" (a 26-character unique
  suffix follows); terraform-aws-modules/terraform-aws-eks@v21.19.0 modules/karpenter/main.tf names Karpenter's
  rules `name_prefix = "Karpenter<Name>-"` (HealthEvent, SpotInterrupt, InstanceRebalance, InstanceStateChange,
  CRInterruption).
- terraform-provider-aws internal/service/eks/node_group.go: `node_group_name_prefix`
  `StringLenBetween(0, 63-id.UniqueIDSuffixLength)` (26), so at most 37 characters.

Before the fix, `<cluster>-karpenter-capacity-reservation-interruption` overran 64 for every cluster name over 12
characters, and cluster names over 32 characters overran the cluster-autoscaler's role.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from spec_assertions import AWS_NETWORK, DEPLOYERS, assert_refused

from mlinfra.offline.render import render_environment
from mlinfra.spec import load_environment

# Pulumi type -> the longest name the provider accepts for it (resource_overrides.go above).
AUTONAME_LIMITS = {"aws:iam/role:Role": 64, "aws:cloudwatch/eventRule:EventRule": 64, "aws:sqs/queue:Queue": 80}
NAME_PREFIX_LIMITS = {"aws:cloudwatch/eventRule:EventRule": 38, "aws:iam/role:Role": 38}
RANDOM_SUFFIX = len("-") + 7
LONGEST_CLUSTER = "c" * 32
LONGEST_MANAGED_POOL = "m" * 36


def environment(cluster: str = LONGEST_CLUSTER, managed: str = LONGEST_MANAGED_POOL,
                karpenter: str = "k" * 40) -> dict[str, Any]:
    """Every kind of role at once: a created cluster, an autoscaled managed pool, a Karpenter spot pool."""
    return {"environment": "dev", "clusters": [{
        "name": cluster, "cloud": "aws", "region": "us-east-1", "network": AWS_NETWORK, "endpoint": DEPLOYERS,
        "karpenter": {"ami_version": "v20260714"},
        "pools": [
            {"name": managed, "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "min_nodes": 0, "max_nodes": 2},
            {"name": karpenter, "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2, "spot": True,
             "provisioner": "karpenter"},
        ]}]}


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return json.loads(render_environment(environment())["resources.json"])


def test_every_provider_named_resource_fits_at_the_longest_accepted_names(resources) -> None:
    checked = 0
    for r in resources:
        limit = AUTONAME_LIMITS.get(r["type"])
        if limit is None or "name" in r["inputs"]:
            continue
        if "namePrefix" in r["inputs"]:
            assert len(r["inputs"]["namePrefix"]) <= NAME_PREFIX_LIMITS[r["type"]], r["inputs"]["namePrefix"]
        else:
            assert len(r["name"]) + RANDOM_SUFFIX <= limit, (r["type"], r["name"])
        checked += 1
    kinds = {r["type"] for r in resources if r["type"] in AUTONAME_LIMITS}
    assert kinds == set(AUTONAME_LIMITS) and checked >= 5 + 6


def test_node_group_name_prefix_fits(resources) -> None:
    groups = [r for r in resources if r["type"] == "aws:eks/nodeGroup:NodeGroup"]
    assert {r["inputs"]["nodeGroupNamePrefix"] for r in groups} == {"system-", f"{LONGEST_MANAGED_POOL}-"}
    assert all(len(r["inputs"]["nodeGroupNamePrefix"]) <= 63 - 26 for r in groups)


def test_interruption_rules_are_named_as_terraform_aws_eks_names_them(resources) -> None:
    prefixes = {json.loads(r["inputs"]["eventPattern"])["detail-type"][0]: r["inputs"]["namePrefix"]
                for r in resources if r["type"] == "aws:cloudwatch/eventRule:EventRule"}
    assert prefixes == {
        "AWS Health Event": "KarpenterHealthEvent-",
        "EC2 Spot Instance Interruption Warning": "KarpenterSpotInterrupt-",
        "EC2 Instance Rebalance Recommendation": "KarpenterInstanceRebalance-",
        "EC2 Instance State-change Notification": "KarpenterInstanceStateChange-",
        "EC2 Capacity Reservation Instance Interruption Warning": "KarpenterCRInterruption-",
    }


@pytest.mark.parametrize(("spec", "path", "text"), [
    (environment(cluster="c" * 33), "clusters[0].name", "at most 32 characters"),
    (environment(managed="m" * 37), "clusters[0].pools[0].name", "at most 36 characters"),
], ids=["cluster name one over", "managed pool name one over"])
def test_names_aws_would_refuse_are_refused_first(spec: dict[str, Any], path: str, text: str) -> None:
    assert_refused(spec, path, text)


@pytest.mark.parametrize("spec", [
    # Without a scaling managed pool or Karpenter, the longest role is `<cluster>-cluster-role`.
    {"environment": "dev", "clusters": [{"name": "c" * 40, "cloud": "aws", "region": "us-east-1",
                                         "network": AWS_NETWORK, "endpoint": DEPLOYERS}]},
    # A Karpenter pool makes no node group: its name may use the full 40 characters.
    environment(karpenter="k" * 40),
], ids=["bare cluster, 40 characters", "karpenter pool, 40 characters"])
def test_names_that_fit_are_accepted(spec: dict[str, Any]) -> None:
    load_environment(spec)


@pytest.mark.parametrize("spec", [
    environment("roles"),
    {"environment": "dev", "clusters": [{"name": "bare", "cloud": "aws", "region": "us-east-1",
                                         "network": AWS_NETWORK, "endpoint": DEPLOYERS}]},
    # A managed pool at a fixed size gets no cluster-autoscaler, so no role for it.
    environment("fixed") | {"clusters": [environment("fixed")["clusters"][0] | {"pools": [
        {"name": "m", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "min_nodes": 1, "max_nodes": 1}]}]},
], ids=["every role", "bare cluster", "fixed-size managed pool"])
def test_the_checked_role_names_are_the_roles_the_render_creates(spec: dict[str, Any]) -> None:
    """The name check predicts the roles from the spec (checks/clouds.py `eks_role_names`) before anything is
    registered; it must predict exactly the roles the components create, or a new role escapes the check."""
    from mlinfra.checks.clouds import eks_role_names

    rendered = json.loads(render_environment(spec)["resources.json"])
    assert sorted(eks_role_names(load_environment(spec).clusters[0])) == sorted(
        r["name"] for r in rendered if r["type"] == "aws:iam/role:Role")
