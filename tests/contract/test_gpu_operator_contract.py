"""GPU operator renders against the pinned upstream: chart values, ClusterPolicy, mig-parted, device-plugin formats."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.catalog.dcgm import DCGM_COUNTERS
from mlinfra.offline.render import render_environment, write_tree
from mlinfra.offline.validate import validate_dir

NETWORK = {"vpc_id": "vpc-0abc", "subnet_ids": ["subnet-a", "subnet-b"]}
AWS_POOLS = [
    {"name": "h100-1g", "gpu": "H100-80GB", "max_nodes": 2, "mig": {"profiles": {"1g.10gb": 7}}},
    {"name": "h100-mix", "gpu": "H100-80GB", "max_nodes": 2, "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 2}}},
    {"name": "a100-1g", "gpu": "A100-40GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 4}},
     "time_slicing": {"replicas": 2}},
    {"name": "h200-1g", "gpu": "H200-141GB", "max_nodes": 1, "mig": {"profiles": {"1g.18gb": 7}}},
    {"name": "l4-ts", "gpu": "L4-24GB", "max_nodes": 2, "time_slicing": {"replicas": 4, "rename_by_default": True},
     "taints": [{"key": "team", "value": "vision"}]},
    # Bottlerocket runs its own device plugin: no sharing or MIG there.
    {"name": "l40s-br", "gpu": "L40S-48GB", "max_nodes": 2, "ami_family": "bottlerocket"},
]
# MPS needs a cluster whose MIG strategy is not `mixed` (the device plugin refuses MPS under it).
AWS_MPS = [AWS_POOLS[0], {"name": "l40s-mps", "gpu": "L40S-48GB", "max_nodes": 2, "mps": {"replicas": 8}}]
GCP_POOLS = [
    {"name": "h100-gke", "gpu": "H100-80GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 7}}},
    {"name": "l4-gke-ts", "gpu": "L4-24GB", "max_nodes": 2, "time_slicing": {"replicas": 4}},
    {"name": "l4-gke-mps", "gpu": "L4-24GB", "max_nodes": 2, "mps": {"replicas": 4}},
]
# Only the operator's MIG manager can apply a mixed layout on GKE.
GCP_MIXED = {"name": "h100-gke-mix", "gpu": "H100-80GB", "max_nodes": 1,
             "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 2}}}

ENVS = {
    "eks": {"environment": "c", "monitoring": {"enabled": True}, "clusters": [
        {"name": "eks", "cloud": "aws", **EKS_REACHABLE,
         "region": "us-east-1", "network": NETWORK, "pools": AWS_POOLS,
         "gpu_operator": {"time_slicing_on_mig": True}}]},
    "eks-mps": {"environment": "c", "clusters": [
        {"name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1", "network": NETWORK,
         "pools": AWS_MPS}]},
    "eks-operator-driver": {"environment": "c", "clusters": [
        {"name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1", "network": NETWORK,
         "pools": [*AWS_POOLS[:2], AWS_POOLS[4]],
         "gpu_operator": {"driver": "operator"}}]},
    "gke": {"environment": "c", "monitoring": {"enabled": True}, "clusters": [
        {"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS,
         "region": "us-central1", "project": "p", "pools": GCP_POOLS}]},
    "gke-operator-driver": {"environment": "c", "clusters": [
        {"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS,
         "region": "us-central1", "project": "p", "pools": [*GCP_POOLS[:2], GCP_MIXED],
         "gpu_operator": {"driver": "operator", "dcgm_exporter": False}}]},
}
# Environments where GKE's device plugin advertises the GPUs and GKE partitions them.
GKE_NATIVE = {"gke"}


@pytest.fixture(scope="module", params=sorted(ENVS))
def rendered(request, tmp_path_factory) -> tuple[str, dict[str, str], Path, str]:
    files = render_environment(ENVS[request.param])
    out = tmp_path_factory.mktemp(request.param) / "render"
    # Only this add-on's files: the other add-ons have contract tests of their own.
    write_tree(out, {k: v for k, v in files.items() if "gpu-operator" in k})
    return ENVS[request.param]["clusters"][0]["name"], files, out, request.param


def _configmap(files: dict[str, str], cluster: str, name: str) -> dict[str, Any] | None:
    text = files.get(f"manifests/{cluster}/gpu-operator/ConfigMap-{name}.yaml")
    return yaml.safe_load(text)["data"] if text else None


def test_every_object_and_the_values_validate_against_upstream(rendered, upstream: Path) -> None:
    _, _, out, _ = rendered
    report = validate_dir(out, crds_dir=upstream)
    assert report.problems == [], report.format()
    # dcgmExporter.config is documented only in a comment of the chart's values.yaml; nothing else may be unchecked.
    assert {n.path for n in report.not_checked} <= {"$.values.dcgmExporter.config"}, report.format()


def test_values_key_paths_exist_in_the_chart(rendered, upstream: Path) -> None:
    """Walk every key path of the rendered values through the chart's values.yaml; types must match too."""
    cluster, files, _, _ = rendered
    chart = yaml.safe_load((upstream / "gpu-operator/v26.7.0/values.yaml").read_text())
    chart_text = (upstream / "gpu-operator/v26.7.0/values.yaml").read_text()
    values = yaml.safe_load(files[f"helm/{cluster}/gpu-operator.yaml"])["values"]

    def walk(ours: Any, theirs: Any, path: str) -> None:
        if isinstance(ours, dict):
            assert isinstance(theirs, dict), f"{path} is a map in our values, {type(theirs).__name__} in the chart"
            for key, value in ours.items():
                if path == "dcgmExporter" and key == "config":
                    # Documented in the chart as a commented block; the ClusterPolicy CRD carries it.
                    assert "# config:\n    # name: custom-dcgm-exporter-metrics" in chart_text
                    assert set(value) == {"name"}
                    continue
                assert key in theirs, f"{path}.{key} is not a key of gpu-operator v26.7.0 values.yaml"
                walk(value, theirs[key], f"{path}.{key}" if path else key)
        elif isinstance(ours, list):
            assert isinstance(theirs, list), f"{path} is a list in our values, not in the chart"
        elif theirs is not None:
            assert type(ours) is type(theirs), f"{path}: {type(ours).__name__} vs chart {type(theirs).__name__}"

    walk(values, chart, "")


def test_dcgm_config_name_is_a_clusterpolicy_field(upstream: Path) -> None:
    crd = yaml.safe_load((upstream / "gpu-operator/v26.7.0/nvidia.com_clusterpolicies.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "name" in spec["dcgmExporter"]["properties"]["config"]["properties"]
    assert set(spec["mig"]["properties"]["strategy"]["enum"]) >= {"none", "single", "mixed"}


def _mig_facts(upstream: Path) -> dict[str, dict[str, Any]]:
    gpus = json.loads((upstream / "nvidia-mig/profiles.json").read_text())["gpus"]
    return {pci: g for g in gpus for pci in g["pci_device_ids"]}


def test_mig_layouts_are_valid_for_the_gpu_they_target(rendered, upstream: Path) -> None:
    cluster, files, _, env = rendered
    data = _configmap(files, cluster, "mlinfra-mig-parted-config")
    if env in GKE_NATIVE:
        assert data is None  # GKE partitions GPUs itself
        return
    config = yaml.safe_load(data["config.yaml"])
    assert config["version"] == "v1"
    facts = _mig_facts(upstream)
    default = yaml.safe_load((upstream / "mig-parted/v0.15.0/config-default.yaml").read_text())["mig-configs"]
    assert config["mig-configs"]["all-disabled"] == default["all-disabled"]
    for name, entries in config["mig-configs"].items():
        for entry in entries:
            assert set(entry) <= {"device-filter", "devices", "mig-enabled", "mig-devices"}
            if not entry["mig-enabled"]:
                continue
            gpus = {facts[pci]["model"] for pci in entry["device-filter"]}
            assert len(gpus) == 1, f"{name}: one layout entry per GPU model, got {gpus}"
            gpu = facts[entry["device-filter"][0]]
            profiles = {p["profile"]: p for p in gpu["profiles"]}
            slices = instances = 0
            for profile, count in entry["mig-devices"].items():
                assert profile in profiles, f"{name}: {gpu['model']} has no profile {profile}"
                assert 1 <= count <= profiles[profile]["max_count"]
                slices += profiles[profile]["compute_slices"] * count
                instances += count
            assert slices <= max(p["compute_slices"] for p in gpu["profiles"])
            assert instances <= gpu["max_instances"]
            if name.startswith("all-"):
                # An `all-<profile>` name means what mig-parted means by it on this GPU.
                upstream_entries = default[name]
                matching = [e for e in upstream_entries
                            if "device-filter" not in e or set(entry["device-filter"]) & set(e["device-filter"])]
                assert matching and matching[0]["mig-devices"] == entry["mig-devices"], name


def test_pool_labels_select_layouts_and_configs_that_exist(rendered) -> None:
    cluster, files, _, env = rendered
    resources = json.loads(files["resources.json"])
    labels: list[dict[str, str]] = []
    for r in resources:
        node_config = r["inputs"].get("nodeConfig") or {}
        labels.append(node_config.get("labels") or {})
        labels.append(r["inputs"].get("labels") or {})
        template = ((r["inputs"].get("spec") or {}).get("template") or {}).get("metadata") or {}
        labels.append(template.get("labels") or {})
    mig = _configmap(files, cluster, "mlinfra-mig-parted-config")
    layouts = set(yaml.safe_load(mig["config.yaml"])["mig-configs"]) if mig else set()
    dp = _configmap(files, cluster, "mlinfra-device-plugin-config") or {}
    selected_mig = {
        lab["nvidia.com/mig.config"] for lab in labels if isinstance(lab, dict) and "nvidia.com/mig.config" in lab
    }
    selected_dp = {lab["nvidia.com/device-plugin.config"] for lab in labels
                   if isinstance(lab, dict) and "nvidia.com/device-plugin.config" in lab}
    values = yaml.safe_load(files[f"helm/{cluster}/gpu-operator.yaml"])["values"]
    if env in GKE_NATIVE:
        # One device plugin per node: GKE's. Nothing selects operator configs, and none are rendered.
        assert values["devicePlugin"] == {"enabled": False} and values["migManager"] == {"enabled": False}
        assert not selected_dp and not selected_mig and not dp and not mig
        assert all("gke-no-default-nvidia-gpu-device-plugin" not in lab for lab in labels if isinstance(lab, dict))
        return
    assert selected_dp, "the sharing pools' nodes carry nvidia.com/device-plugin.config"
    assert selected_dp <= set(dp)
    assert selected_mig <= layouts
    assert selected_mig, "MIG pools' nodes carry nvidia.com/mig.config where the operator partitions"
    assert values["devicePlugin"]["config"]["name"] == "mlinfra-device-plugin-config"
    if cluster == "gke":
        # The operator's plugin is the only one: GKE's stays off on every GPU node pool.
        pools = [r for r in resources if r["type"] == "gcp:container/nodePool:NodePool"]
        assert pools and all(r["inputs"]["nodeConfig"]["labels"]["gke-no-default-nvidia-gpu-device-plugin"] == "true"
                             for r in pools)


def test_device_plugin_configs_follow_the_v0_20_0_format(rendered, upstream: Path) -> None:
    cluster, files, _, env = rendered
    examples = [d for d in yaml.safe_load_all(
        (upstream / "k8s-device-plugin/v0.20.0/device-plugin-config-examples.yaml").read_text()) if d]
    allowed_top = set().union(*(d.keys() for d in examples))
    allowed_flags = set().union(*(d.get("flags", {}).keys() for d in examples))
    allowed = {"timeSlicing": {"renameByDefault", "failRequestsGreaterThanOne", "resources"},
               "mps": {"renameByDefault", "resources"}}
    for d in examples:
        for mode, body in d.get("sharing", {}).items():
            assert set(body) <= allowed[mode]  # the examples stay within what we allow ourselves
    data = _configmap(files, cluster, "mlinfra-device-plugin-config")
    if env in GKE_NATIVE:
        assert data is None  # GKE's device plugin shares the GPUs (the node pool's gpu_sharing_config)
        return
    assert data is not None
    for name, text in data.items():
        config = yaml.safe_load(text)
        assert config["version"] == "v1"
        assert set(config) <= allowed_top, name
        assert set(config["flags"]) <= allowed_flags, name
        for mode, body in config.get("sharing", {}).items():
            assert mode in allowed and set(body) <= allowed[mode], name
            assert all(set(r) == {"name", "replicas"} and r["replicas"] >= 2 for r in body["resources"]), name
        assert len(config.get("sharing", {})) <= 1, "time-slicing and MPS are mutually exclusive"


def _csv_rows(path: Path, commented: bool) -> dict[str, str]:
    rows = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if commented and line.startswith("#"):
            line = line.lstrip("# ").strip()
        if not line or line.startswith("#"):
            continue
        parts = next(csv.reader([line]))
        if len(parts) >= 3 and parts[0].strip().startswith("DCGM_"):
            rows[parts[0].strip()] = parts[1].strip()
    return rows


def test_dcgm_counters_match_the_exporter_facts(upstream: Path) -> None:
    folder = upstream / "dcgm-exporter/4.5.3-4.8.2"
    defaults = _csv_rows(folder / "default-counters.csv", commented=False)
    known: dict[str, str] = {}
    for f in sorted(folder.glob("*.csv")):
        known.update(_csv_rows(f, commented=True))
    ours = {c.field: c.prom_type for c in DCGM_COUNTERS}
    assert set(defaults) <= set(ours), f"default counters missing: {sorted(set(defaults) - set(ours))}"
    for field, prom_type in ours.items():
        assert field in known, f"{field} is not a counter the exporter documents"
        assert prom_type == known[field], f"{field}: {prom_type} vs upstream {known[field]}"
