"""Node-pool renders against the pinned Karpenter v1.14.1 CRDs and chart values (strict, with CEL rules)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.catalog import eks as eks_catalog
from mlinfra.offline.render import render_environment, write_tree
from mlinfra.offline.validate import validate_dir, validate_objects

NETWORK = {"vpc_id": "vpc-0a1b2c", "subnet_ids": ["subnet-0a1", "subnet-0b2"]}
AMI_RELEASE = max(eks_catalog.EKS_AMI_RELEASES)
BOTTLEROCKET_RELEASE = eks_catalog.suggested_release("bottlerocket", eks_catalog.DEFAULT_KUBERNETES_VERSION)

# Every pool kind: EKS managed, EKS Karpenter spot and on-demand with MIG and time-slicing (single and mixed
# MIG clusters), Bottlerocket, operator-owned drivers, GKE MIG/time-sharing/MPS, and existing clusters.
SPECS: dict[str, dict[str, Any]] = {
    "eks-created": {"environment": "c", "clusters": [{
        "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1", "network": NETWORK,
        # Each image family pinned in its own release format: an EKS AMI date for AL2023, a Bottlerocket version.
        "karpenter": {"ami_version": AMI_RELEASE, "bottlerocket_version": BOTTLEROCKET_RELEASE},
        "pools": [
            {"name": "h100-managed", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2,
             "mig": {"profiles": {"1g.10gb": 7}}},
            {"name": "l4-spot-ts", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 8, "spot": True,
             "provisioner": "karpenter", "time_slicing": {"replicas": 4},
             "taints": [{"key": "dedicated", "value": "inference", "effect": "NoSchedule"}]},
            {"name": "a100-od-mig", "gpu": "A100-80GB", "max_nodes": 2, "provisioner": "karpenter",
             "mig": {"profiles": {"3g.40gb": 2}}},
            {"name": "h100-spot", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 4, "spot": True,
             "provisioner": "karpenter", "ami_family": "bottlerocket",
             "instance_types": ["p5.48xlarge"]},
        ]}]},
    "eks-mixed-operator": {"environment": "c", "clusters": [{
        "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-west-2", "network": NETWORK,
        "gpu_operator": {"driver": "operator"}, "karpenter": {"consolidate_after": "30s", "expire_after": "Never"},
        "pools": [
            {"name": "h100-mixed", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2, "provisioner": "karpenter",
             "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}}},
            # Time-slicing, not MPS: the device plugin refuses MPS under the mixed MIG strategy.
            {"name": "t4g-ts", "instance_types": ["g5g.xlarge", "g5g.2xlarge"], "max_nodes": 3, "spot": True,
             "provisioner": "karpenter", "time_slicing": {"replicas": 4, "rename_by_default": True}},
        ]}]},
    "eks-existing": {"environment": "c", "clusters": [{
        "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
        "existing": {"name": "shared", "kubeconfig_secret": "eks-kc"},
        "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 2},
                  {"name": "l4k", "gpu": "L4-24GB", "max_nodes": 2, "provisioner": "karpenter", "spot": True}]}]},
    "gke-created": {"environment": "c", "clusters": [{
        "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
        "pools": [
            {"name": "h100-mig", "machine_type": "a3-highgpu-8g", "max_nodes": 2, "mig": {"profiles": {"3g.40gb": 2}}},
            {"name": "l4-ts", "gpu": "L4-24GB", "max_nodes": 3, "spot": True, "time_slicing": {"replicas": 4}},
            {"name": "l4-mps", "gpu": "L4-24GB", "max_nodes": 3, "mps": {"replicas": 8}},
        ]}]},
    "gke-existing": {"environment": "c", "clusters": [{
        "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
        "existing": {"name": "shared", "kubeconfig_secret": "gke-kc"},
        "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 2}]}]},
    # The operator owns driver, device plugin and MIG: layouts GKE could not partition, renamed sharing.
    "gke-operator": {"environment": "c", "clusters": [{
        "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
        "gpu_operator": {"driver": "operator"},
        "pools": [
            {"name": "h100-mixed", "machine_type": "a3-highgpu-8g", "max_nodes": 2,
             "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2}}},
            {"name": "l4-ts", "gpu": "L4-24GB", "max_nodes": 3, "spot": True,
             "time_slicing": {"replicas": 4, "rename_by_default": True}},
        ]}]},
}
SECRETS = {"mlinfra:eks-kc": "apiVersion: v1", "mlinfra:gke-kc": "apiVersion: v1"}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, str]]]:
    out = {}
    for name, spec in SPECS.items():
        files = render_environment(spec, extra_config=SECRETS)
        folder = tmp_path_factory.mktemp(name) / "render"
        write_tree(folder, files)
        out[name] = (folder, files)
    return out


def _karpenter_objects(files: dict[str, str]) -> list[dict[str, Any]]:
    objs = [yaml.safe_load(text) for path, text in sorted(files.items()) if path.startswith("manifests/")]
    return [o for o in objs if o["apiVersion"].startswith(("karpenter.sh/", "karpenter.k8s.aws/"))]


@pytest.mark.parametrize("name", list(SPECS))
def test_every_rendered_object_and_values_file_validates(renders, upstream, name):
    folder, _ = renders[name]
    report = validate_dir(folder, crds_dir=upstream)
    assert report.ok, report.format()
    assert report.objects > 0


EXPECTED_KINDS = {
    "eks-created": {"NodePool": 3, "EC2NodeClass": 3, "NodeOverlay": 2},
    "eks-mixed-operator": {"NodePool": 2, "EC2NodeClass": 2, "NodeOverlay": 2},
    "eks-existing": {"NodePool": 1, "EC2NodeClass": 1},
    "gke-created": {},
    "gke-existing": {},
    "gke-operator": {},
}


@pytest.mark.parametrize("name", list(SPECS))
def test_karpenter_objects_validate_strictly_with_cel_rules(renders, upstream, name):
    _, files = renders[name]
    objs = _karpenter_objects(files)
    kinds: dict[str, int] = {}
    for o in objs:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    assert kinds == EXPECTED_KINDS[name]
    if not objs:
        return
    report = validate_objects(objs, crds_dir=upstream / "karpenter" / "v1.14.1")
    assert report.ok, report.format()
    assert report.cel_rules_evaluated > 0
    karpenter_unchecked = [n for n in report.not_checked if "transition" not in n.reason]
    assert karpenter_unchecked == [], report.format()


def test_karpenter_helm_values_use_only_chart_keys(renders, upstream):
    _, files = renders["eks-created"]
    release = yaml.safe_load(files["helm/eks/karpenter.yaml"])
    # An OCI chart: the whole reference in `chart`, no repository (tests/contract/test_helm_release_source.py).
    assert (release["chart"], release["repository"], release["version"]) == (
        "oci://public.ecr.aws/karpenter/karpenter", None, "1.14.1")
    defaults = yaml.safe_load((upstream / "karpenter" / "v1.14.1" / "values.yaml").read_text())

    def walk(values: dict[str, Any], chart: dict[str, Any], path: str) -> None:
        for key, value in values.items():
            assert key in chart, f"{path}{key} is not a key of the Karpenter chart's values.yaml"
            # serviceAccount.annotations is a free-form map in the chart.
            if isinstance(value, dict) and isinstance(chart[key], dict) and chart[key]:
                walk(value, chart[key], f"{path}{key}.")

    walk(release["values"], defaults, "")
    assert release["values"]["settings"]["interruptionQueue"]


BROKEN = [
    # (case, kind to break, change, text the validator reports)
    ("NodePool without consolidateAfter", "NodePool", lambda o: o["spec"]["disruption"].pop("consolidateAfter"),
     "consolidateAfter"),
    ("EC2NodeClass with role and instanceProfile", "EC2NodeClass",
     lambda o: o["spec"].__setitem__("instanceProfile", "x"), "exactly one of ['role', 'instanceProfile']"),
    ("NodePool label in the karpenter.sh domain", "NodePool",
     lambda o: o["spec"]["template"]["metadata"]["labels"].__setitem__("karpenter.sh/custom", "x"),
     'label domain "karpenter.sh" is restricted'),
    ("NodeOverlay with an unknown field", "NodeOverlay", lambda o: o["spec"].__setitem__("gpus", 4), "gpus"),
]


@pytest.mark.parametrize(("case", "kind", "change", "text"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_validator_would_catch_a_broken_karpenter_object(renders, upstream, case, kind, change, text):
    _, files = renders["eks-created"]
    obj = copy.deepcopy(next(o for o in _karpenter_objects(files) if o["kind"] == kind))
    change(obj)
    report = validate_objects([obj], crds_dir=upstream / "karpenter" / "v1.14.1")
    assert not report.ok
    assert text in report.format()


def test_cloud_resources_carry_the_security_defaults(renders):
    res = json.loads(renders["eks-created"][1]["resources.json"])
    templates = [r["inputs"] for r in res if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"]
    assert templates and all(t["metadataOptions"]["httpTokens"] == "required" for t in templates)
    assert all(t["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true" for t in templates)
    gke = json.loads(renders["gke-created"][1]["resources.json"])
    pools = [r["inputs"]["nodeConfig"] for r in gke if r["type"] == "gcp:container/nodePool:NodePool"]
    assert pools and all(p["shieldedInstanceConfig"]["enableSecureBoot"] for p in pools)
    assert all(p["workloadMetadataConfig"] == {"mode": "GKE_METADATA"} for p in pools)


def test_a_pinned_ami_release_reaches_every_node_class(renders):
    _, files = renders["eks-created"]
    classes = [o for o in _karpenter_objects(files) if o["kind"] == "EC2NodeClass"]
    assert classes
    aliases = {o["metadata"]["name"]: t["alias"] for o in classes for t in o["spec"]["amiSelectorTerms"]}
    # Karpenter looks each alias version up in its own family's SSM path (karpenter-provider-aws@v1.14.1
    # pkg/providers/amifamily/al2023.go, bottlerocket.go): the Bottlerocket pool takes the Bottlerocket pin.
    assert aliases == {"l4-spot-ts": f"al2023@{AMI_RELEASE}", "a100-od-mig": f"al2023@{AMI_RELEASE}",
                       "h100-spot": f"bottlerocket@{BOTTLEROCKET_RELEASE}"}


def test_gke_node_pools_leave_the_gpus_to_exactly_one_device_plugin(renders):
    def pools(name: str) -> dict[str, dict[str, Any]]:
        res = json.loads(renders[name][1]["resources.json"])
        return {r["name"]: r["inputs"]["nodeConfig"] for r in res if r["type"] == "gcp:container/nodePool:NodePool"}

    for config in pools("gke-created").values():
        # GKE's plugin: GKE installs the driver, partitions and shares; no operator labels.
        assert "gke-no-default-nvidia-gpu-device-plugin" not in config["labels"]
        assert not {"nvidia.com/mig.config", "nvidia.com/device-plugin.config"} & set(config["labels"])
        assert config["guestAccelerators"][0]["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}
    operator = pools("gke-operator")
    for config in operator.values():
        (accelerator,) = config["guestAccelerators"]
        assert config["labels"]["gke-no-default-nvidia-gpu-device-plugin"] == "true"
        assert accelerator["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "INSTALLATION_DISABLED"}
        assert "gpuPartitionSize" not in accelerator and "gpuSharingConfig" not in accelerator
        assert config["imageType"] == "UBUNTU_CONTAINERD"
        assert config["shieldedInstanceConfig"]["enableSecureBoot"] is False
    assert operator["gke-h100-mixed-pool"]["labels"]["nvidia.com/mig.config"] == "mlinfra-h100-mixed"
    assert operator["gke-l4-ts-pool"]["labels"]["nvidia.com/device-plugin.config"] == "time-slicing-4-renamed"
