"""Fluid renders against the pinned upstream contract: v1.0.8 CRDs (strict) and the chart's values.yaml keys."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.offline.render import render_environment
from mlinfra.offline.validate import validate_objects, validator_for

GKE: dict[str, Any] = {
    "environment": "contract",
    "clusters": [{
        "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
        "pools": [{"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 3,
                   "taints": [{"key": "dedicated", "value": "ml", "effect": "NoExecute"}]}],
    }],
    "scheduling": {"teams": [{"name": "research", "cluster": "gke"}, {"name": "vision", "cluster": "gke"}]},
    "caches": [
        {"name": "imagenet", "cluster": "gke", "pools": ["l4"], "teams": ["research", "vision"], "replicas": 3,
         "mounts": [{"url": "gs://ml-data/imagenet"},
                    {"url": "s3://public-mirror/coco", "name": "coco",
                     "options": {"alluxio.underfs.s3.region": "us-east-1"},
                     "secret_options": {"aws.accessKeyId": {"secret": "s3-ro", "key": "id"},
                                        "aws.secretKey": {"secret": "s3-ro", "key": "key"}}}],
         "tiers": [{"medium": "MEM", "quota": "12Gi"}, {"medium": "SSD", "quota": "80Gi", "path": "/mnt/disks/ssd0"},
                   {"medium": "HDD", "quota": "1.5Gi", "high": 0.99, "low": 0.0}],
         "warmup": {"paths": ["/imagenet/train"], "load_metadata": False, "schedule": "0 2 * * *"}},
        {"name": "tokens", "cluster": "gke", "pools": ["l4"], "mounts": [{"url": "gs://ml-data/tokens"}],
         "warmup": {}},
    ],
}

EKS: dict[str, Any] = {
    "environment": "contract",
    "clusters": [{"name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
                  "pools": [{"name": "a100", "instance_types": ["p4d.24xlarge"], "max_nodes": 4}]}],
    "scheduling": {"teams": [{"name": "vision", "cluster": "eks"}]},
    "caches": [{"name": "laion", "cluster": "eks", "pools": ["a100"], "teams": ["vision"],
                "mounts": [{"url": "s3://ml-corpora/laion"}], "tiers": [{"medium": "MEM", "quota": "200Gi"}],
                "warmup": {}}],
}


def _fluid_files(files: dict[str, str]) -> dict[str, Any]:
    """The files the Fluid add-on rendered: its namespace, service-account patch, Fluid objects and release."""
    out = {}
    for path, text in files.items():
        if not path.endswith(".yaml") or path.startswith("summary"):
            continue
        doc = yaml.safe_load(text)
        mine = (
            path.startswith("helm/") and path.endswith("/fluid.yaml")
            or "/fluid-system/" in path
            or path.endswith("/Namespace-fluid-system.yaml")
            or (path.startswith("manifests/") and str(doc.get("apiVersion", "")).startswith("data.fluid.io/"))
        )
        if mine:
            out[path] = doc
    return out


@pytest.mark.parametrize("spec", [GKE, EKS], ids=["gke-gcs-and-s3-secret", "eks-s3-irsa"])
def test_every_fluid_object_and_values_validate(spec: dict[str, Any], upstream: Path) -> None:
    files = _fluid_files(render_environment(copy.deepcopy(spec)))
    manifests = {p: d for p, d in files.items() if p.startswith("manifests/")}
    releases = {p: d for p, d in files.items() if p.startswith("helm/")}
    kinds = sorted(d["kind"] for d in manifests.values())
    assert "AlluxioRuntime" in kinds and "DataLoad" in kinds and kinds.count("Dataset") >= 2
    assert len(releases) == 1

    report = validate_objects(list(manifests.values()), crds_dir=upstream)
    assert report.problems == [], report.format()
    assert report.objects == len(manifests)
    # The Fluid CRDs carry no CEL rules; anything reported as not checked would be a gap in this contract.
    assert report.not_checked == [], report.format()

    (path, release), = releases.items()
    values_report = validator_for(upstream).validate_helm_release(release, path)
    assert values_report.problems == [], values_report.format()
    assert values_report.not_checked == [], values_report.format()


def test_validator_catches_a_broken_runtime(upstream: Path) -> None:
    """The contract test can fail: an unknown field and an out-of-enum medium are reported."""
    files = _fluid_files(render_environment(copy.deepcopy(GKE)))
    runtime = copy.deepcopy(files["manifests/gke/fluid-system/AlluxioRuntime-imagenet.yaml"])
    runtime["spec"]["tieredstore"]["levels"][0]["mediumtype"] = "NVME"
    runtime["spec"]["workerReplicas"] = 2
    report = validate_objects([runtime], crds_dir=upstream)
    text = report.format()
    assert len(report.problems) >= 2, text
    assert "workerReplicas" in text and "mediumtype" in text


def test_values_keys_exist_in_the_chart(upstream: Path) -> None:
    """Every key path mlinfra sets is a key path of the pinned chart's values.yaml (checked directly too)."""
    chart_values = yaml.safe_load((upstream / "fluid" / "v1.0.8" / "values.yaml").read_text())
    release = _fluid_files(render_environment(copy.deepcopy(GKE)))["helm/gke/fluid.yaml"]

    def paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        out = []
        for key, value in tree.items():
            out += paths(value, prefix + (key,)) if isinstance(value, dict) else [prefix + (key,)]
        return out

    for key_path in paths(release["values"]):
        node: Any = chart_values
        for part in key_path:
            assert isinstance(node, dict) and part in node, f"{'.'.join(key_path)} is not in the chart's values.yaml"
            node = node[part]
    assert release["version"] == yaml.safe_load((upstream / "fluid" / "v1.0.8" / "Chart.yaml").read_text())["version"]


# Fluid's CSI plugin mounts the kubelet's kubeconfig from `csi.kubelet.kubeConfigFile` (default
# /etc/kubernetes/kubelet.conf) as a hostPath of type File when `csi.useNodeAuthorization` is on
# (fluid-cloudnative/fluid@v1.0.8 charts/fluid/fluid/templates/csi/daemonset.yaml), so the plugin pod cannot
# start where that file is missing. GKE nodes keep the kubelet kubeconfig in /var/lib/kubelet/kubeconfig and
# authenticate through gke-exec-auth-plugin (fluid#4203); EKS's kubelet needs a credential plugin too
# (fluid#4496). The chart mounts neither plugin, and #4494 added `useNodeAuthorization: false` for that case.
def test_csi_plugin_does_not_borrow_a_kubelet_kubeconfig_the_clouds_do_not_have(upstream: Path) -> None:
    defaults = yaml.safe_load((upstream / "fluid" / "v1.0.8" / "values.yaml").read_text())
    assert defaults["csi"]["useNodeAuthorization"] is True
    assert defaults["csi"]["kubelet"]["kubeConfigFile"] == "/etc/kubernetes/kubelet.conf"
    for spec in (GKE, EKS):
        files = render_environment(copy.deepcopy(spec))
        (path,) = [p for p in files if p.startswith("helm/") and p.endswith("/fluid.yaml")]
        values = yaml.safe_load(files[path])["values"]
        assert values["csi"]["useNodeAuthorization"] is False, path
        # The kubelet root stays the chart's /var/lib/kubelet, the kubelet root on both clouds.
        assert "kubelet" not in values["csi"], path
