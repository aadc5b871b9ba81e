"""EKS version support, unpinned node images and Karpenter pool bounds: warnings, and refusals in prod.

Sources: EKS user guide, "Understand the Kubernetes version lifecycle on EKS" (14 months standard, 12 months
extended at extra cost, release calendar; cross-checked with endoflife.date/amazon-eks); Karpenter docs,
"Managing AMIs" (pin AMIs in production); Karpenter NodePool: no minimum size (nodes exist for pending pods).
"""

from __future__ import annotations

from datetime import date

import pytest
from spec_assertions import AWS_NETWORK, DEPLOYERS

from mlinfra.catalog import eks as eks_catalog
from mlinfra.checks.clouds import check
from mlinfra.spec import EnvironmentSpec

TODAY = date(2026, 11, 30)
KARPENTER_POOL = {"name": "k", "gpu": "H100-80GB", "max_nodes": 2, "provisioner": "karpenter"}
MANAGED_POOL = {"name": "m", "gpu": "H100-80GB", "max_nodes": 2}


def env(environment="staging", pools=(MANAGED_POOL,), **cluster):
    return {"environment": environment, "clusters": [{
        "name": "eks", "cloud": "aws", "region": "us-east-1", "endpoint": DEPLOYERS, "network": AWS_NETWORK,
        "pools": list(pools), **cluster}]}


def problems(spec, today=TODAY):
    """The cloud checks' problems on `today` (the spec parsed, not yet checked)."""
    return {(p.path, p.severity): p.message for p in check(EnvironmentSpec.model_validate(spec), today)}


CALENDAR = [
    # (version, end of standard, end of extended) as the EKS release calendar lists them.
    ("1.31", date(2025, 11, 26), date(2026, 11, 26)),
    ("1.32", date(2026, 3, 23), date(2027, 3, 23)),
    ("1.33", date(2026, 7, 29), date(2027, 7, 29)),
    ("1.34", date(2026, 12, 2), date(2027, 12, 2)),
    ("1.35", date(2027, 3, 27), date(2028, 3, 27)),
    ("1.36", date(2027, 8, 2), date(2028, 8, 2)),
]


@pytest.mark.parametrize(("version", "standard", "extended"), CALENDAR, ids=[c[0] for c in CALENDAR])
def test_catalog_support_dates_match_the_release_calendar(version, standard, extended):
    known = eks_catalog.EKS_VERSIONS[version]
    assert (known.end_of_standard, known.end_of_extended) == (standard, extended)
    assert known.support(standard) == "standard" and known.support(extended) == "extended"


def test_default_version_is_in_standard_support_today():
    assert eks_catalog.EKS_VERSIONS[eks_catalog.DEFAULT_KUBERNETES_VERSION].support(TODAY) == "standard"


VERSIONS = [
    # (case, environment, version, expected (path suffix, severity) or None, text)
    ("standard support", "staging", "1.34", None, ""),
    ("default", "prod", None, None, ""),
    ("extended support warns", "staging", "1.33", "warning", "billed at the extended-support rate"),
    ("extended support refused in prod", "prod", "1.33", "error", "billed at the extended-support rate"),
    ("support ended", "staging", "1.31", "error", "ended all support"),
    ("unknown version", "staging", "1.29.3", "error", "not an EKS version"),
]


@pytest.mark.parametrize(("case", "environment", "version", "severity", "text"), VERSIONS,
                         ids=[v[0] for v in VERSIONS])
def test_version_support(case, environment, version, severity, text):
    spec = env(environment) if version is None else env(environment, kubernetes_version=version)
    found = problems(spec)
    path = "clusters[0].kubernetes_version"
    if severity is None:
        assert not [k for k in found if k[0] == path], found
    else:
        assert text in found[(path, severity)]


AMIS = [
    ("latest in prod is refused", "prod", "latest", "error"),
    ("latest elsewhere is warned about", "staging", "latest", "warning"),
    ("pinned in prod", "prod", "v20260714", None),
]


@pytest.mark.parametrize(("case", "environment", "ami", "severity"), AMIS, ids=[a[0] for a in AMIS])
def test_unpinned_node_image(case, environment, ami, severity):
    found = problems(env(environment, pools=(KARPENTER_POOL,), karpenter={"ami_version": ami}))
    path = "clusters[0].karpenter.ami_version"
    hits = {k: v for k, v in found.items() if k[0] == path}
    assert hits == ({} if severity is None else {(path, severity): hits.get((path, severity), "")})
    if severity:
        assert "unpinned node image" in hits[(path, severity)]


def test_unpinned_image_matters_only_with_karpenter_pools():
    assert not [k for k in problems(env("prod")) if k[0].endswith("ami_version")]


def test_min_nodes_on_a_karpenter_pool_is_refused_with_a_pointer():
    found = problems(env(pools=({**KARPENTER_POOL, "min_nodes": 1},), karpenter={"ami_version": "v20260714"}))
    message = found[("clusters[0].pools[0].min_nodes", "error")]
    assert "provisioner: managed" in message


def test_load_environment_refuses_a_version_past_all_support():
    from spec_assertions import assert_refused

    # Past every date of the calendar whatever day the suite runs: refused with path and advice.
    assert_refused(env("staging", kubernetes_version="1.30"), "clusters[0].kubernetes_version",
                   "not an EKS version of the catalog's release calendar")


def test_cluster_autoscaler_release_follows_the_cluster_minor():
    from mlinfra.aws import cluster_autoscaler

    # kubernetes/autoscaler cluster-autoscaler/README.md "Releases": one autoscaler minor per Kubernetes minor.
    for version in eks_catalog.EKS_VERSIONS:
        assert cluster_autoscaler.image_tag(version).startswith(f"v{version}.")
    with pytest.raises(ValueError, match="no cluster-autoscaler release pinned for Kubernetes 1.99"):
        cluster_autoscaler.image_tag("1.99")


@pytest.mark.parametrize("provisioner", ["managed", "karpenter"])
def test_bottlerocket_nodes_turn_the_operators_device_plugin_and_mig_manager_off(provisioner):
    from mlinfra.aws import karpenter, node_group
    from mlinfra.spec.resolve import resolve_cluster_pools

    # Bottlerocket's NVIDIA image runs its own device plugin; the GPU operator skips an operand on a node labelled
    # nvidia.com/gpu.deploy.<operand>=false (issue 17 item 9).
    pool = {"name": "l4-br", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
            "ami_family": "bottlerocket", "provisioner": provisioner}
    loaded = EnvironmentSpec.model_validate(env(pools=(pool,), karpenter={"ami_version": "v20260714"}))
    (resolved,) = resolve_cluster_pools(loaded.clusters[0])
    if provisioner == "managed":
        labels = node_group.node_group_args(resolved, "cloud").labels
        tags = node_group.autoscaler_template_tags(resolved)
        assert tags["k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.deploy.device-plugin"] == "false"
    else:
        labels = karpenter.node_pool_manifest(resolved, loaded.clusters[0].karpenter)["spec"]["template"][
            "metadata"]["labels"]
    assert labels["nvidia.com/gpu.deploy.device-plugin"] == "false"
    assert labels["nvidia.com/gpu.deploy.mig-manager"] == "false"
    al2023 = EnvironmentSpec.model_validate(env(pools=({**pool, "ami_family": "al2023"},),
                                                karpenter={"ami_version": "v20260714"}))
    (plain,) = resolve_cluster_pools(al2023.clusters[0])
    assert "nvidia.com/gpu.deploy.device-plugin" not in node_group.node_labels(plain)
