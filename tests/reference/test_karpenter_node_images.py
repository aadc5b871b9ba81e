"""Karpenter node images: the version in each EC2NodeClass alias is one its image family's SSM path holds.

Sources:
- aws/karpenter-provider-aws@v1.14.1 (bde00654) pkg/providers/amifamily/bottlerocket.go `DescribeImageQuery`:
  `bottlerocket@<version>` is looked up at /aws/service/bottlerocket/aws-k8s-<k8s>[-nvidia]/<arch>/<version with
  leading "v" trimmed>/image_id; the `-nvidia` paths carry the NVIDIA variant, whose requirement
  (types.go `VariantNvidia`: instance-gpu-count exists) picks them for GPU instance types. No image is found for
  a version no path holds ("failed to discover any AMIs for alias").
- Same tag, pkg/providers/amifamily/al2023.go `resolvePath`: `al2023@<release>` reads
  /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/amazon-eks-node-al2023-<arch>-<variant>-
  <k8s>-<release>/image_id, a `vYYYYMMDD` release.
- Same tag, website/content/en/docs/concepts/nodeclasses.md, "spec.amiSelectorTerms": AL2 and AL2023 are pinned by
  date (`al2023@v20240703`), "Bottlerocket uses a semantic version for their releases" (`bottlerocket@v1.20.4`);
  EC2NodeClass CRD `amiSelectorTerms.alias`: "family@version", at most 30 characters.
- bottlerocket-os/bottlerocket CHANGELOG: v1.53.0 adds `aws-k8s-1.35-nvidia` (#4737); v1.64.0 (#4896) still ships
  it (released 2026-08-05, #4895), with the k8s 1.36 variants of v1.61.0 (#4841).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from spec_assertions import AWS_NETWORK, DEPLOYERS

from mlinfra.catalog import eks as eks_catalog
from mlinfra.offline.render import render_environment

AMI = "v20260714"
BOTTLEROCKET = "v1.64.0"
# A Bottlerocket NVIDIA Karpenter pool on g6.xlarge (x86_64, one L4) beside an AL2023 one, as issue 17 item 9 has it.
POOLS = [
    {"name": "l4-br", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2, "spot": True,
     "provisioner": "karpenter", "ami_family": "bottlerocket"},
    {"name": "l4-al", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2, "spot": True,
     "provisioner": "karpenter"},
]


def spec(environment: str, karpenter: dict[str, str]) -> dict[str, Any]:
    return {"environment": environment, "clusters": [{
        "name": "eks", "cloud": "aws", "region": "us-east-1", "kubernetes_version": "1.35", "endpoint": DEPLOYERS,
        "network": AWS_NETWORK, "karpenter": karpenter, "pools": POOLS}]}


def aliases(files: dict[str, str]) -> dict[str, str]:
    """EC2NodeClass name -> its one alias, from the rendered manifests."""
    out = {}
    for path, text in files.items():
        obj = yaml.safe_load(text) if path.startswith("manifests/") else None
        if obj and obj["kind"] == "EC2NodeClass":
            (term,) = obj["spec"]["amiSelectorTerms"]
            out[obj["metadata"]["name"]] = term["alias"]
    return out


def bottlerocket_gpu_parameter(alias: str, k8s: str, arch: str = "x86_64") -> str:
    """The SSM parameter Karpenter v1.14.1 reads for a GPU instance type's Bottlerocket image (bottlerocket.go)."""
    family, version = alias.split("@")
    assert family == "bottlerocket"
    return f"/aws/service/bottlerocket/aws-k8s-{k8s}-nvidia/{arch}/{version.lstrip('v')}/image_id"


def test_an_ami_release_pin_never_reaches_a_bottlerocket_alias():
    # Only the EKS AMI release is pinned: the Bottlerocket pool must not look up a date under Bottlerocket's path
    # (there it names no image, and the pool would never get a node).
    found = aliases(render_environment(spec("staging", {"ami_version": AMI})))
    assert found["l4-al"] == f"al2023@{AMI}"
    version = found["l4-br"].split("@")[1]
    assert version == "latest" or re.fullmatch(r"v\d+\.\d+\.\d+", version), found["l4-br"]


def test_a_pinned_bottlerocket_release_resolves_to_its_nvidia_variant_for_the_cluster(upstream):
    crd = yaml.safe_load((upstream / "karpenter/v1.14.1/karpenter.k8s.aws_ec2nodeclasses.yaml").read_text())
    term = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "amiSelectorTerms"]["items"]["properties"]["alias"]
    # prod refuses an unpinned image: both families pinned, each in its own format.
    found = aliases(render_environment(spec("prod", {"ami_version": AMI, "bottlerocket_version": BOTTLEROCKET})))
    for alias in found.values():
        assert len(alias) <= term["maxLength"] and re.fullmatch(r"[a-zA-Z0-9]+@.+", alias), alias
    assert found["l4-al"] == f"al2023@{AMI}"
    assert found["l4-br"] == f"bottlerocket@{BOTTLEROCKET}"
    assert bottlerocket_gpu_parameter(found["l4-br"], "1.35") == (
        "/aws/service/bottlerocket/aws-k8s-1.35-nvidia/x86_64/1.64.0/image_id")
    # The catalog carries the same fact: this release ships the NVIDIA variant for 1.35.
    assert "1.35" in eks_catalog.BOTTLEROCKET_RELEASES[BOTTLEROCKET]


@pytest.mark.parametrize("family", ["al2023", "bottlerocket"])
def test_catalog_releases_are_in_the_format_their_alias_takes(family):
    pattern = {"al2023": r"v\d{8}", "bottlerocket": r"v\d+\.\d+\.\d+"}[family]
    releases = eks_catalog.node_image_releases(family)
    assert releases and all(re.fullmatch(pattern, r) for r in releases), releases
