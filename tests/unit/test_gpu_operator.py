"""GPU operator add-on: values per cloud and driver owner, MIG layouts, device-plugin configs, checks, renders."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.catalog.dcgm import CSV_KEY, DCGM_COUNTERS, exported_metric_names
from mlinfra.checks import gpu_operator as checks
from mlinfra.checks import run_checks
from mlinfra.k8s import gpu_operator_config as cfg
from mlinfra.offline.render import render_environment
from mlinfra.spec import load_environment
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import cluster_mig_strategy, resolve_cluster_pools

NETWORK = {"vpc_id": "vpc-0abc", "subnet_ids": ["subnet-a", "subnet-b"]}


def aws_env(pools: list[dict[str, Any]], **operator: Any) -> dict[str, Any]:
    cluster = {"name": "eks", "cloud": "aws", **EKS_REACHABLE,
               "region": "us-east-1", "network": NETWORK, "pools": pools}
    if operator:
        cluster["gpu_operator"] = operator
    return {"environment": "test", "clusters": [cluster]}


def gcp_env(pools: list[dict[str, Any]], **operator: Any) -> dict[str, Any]:
    cluster = {"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS,
               "region": "us-central1", "project": "p", "pools": pools}
    if operator:
        cluster["gpu_operator"] = operator
    return {"environment": "test", "clusters": [cluster]}


H100_ALL_1G = {"name": "h100-1g", "gpu": "H100-80GB", "max_nodes": 2, "mig": {"profiles": {"1g.10gb": 7}}}
H100_MIXED = {"name": "h100-mix", "gpu": "H100-80GB", "max_nodes": 2,
              "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 2}}}
A100_40_ALL_1G = {"name": "a100-1g", "gpu": "A100-40GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 4}}}
L4_TS = {"name": "l4-ts", "gpu": "L4-24GB", "max_nodes": 2, "time_slicing": {"replicas": 4}}
L4_TS_RENAMED = {"name": "l4-tsr", "gpu": "L4-24GB", "max_nodes": 2,
                 "time_slicing": {"replicas": 4, "rename_by_default": True, "fail_requests_greater_than_one": False}}
L40S_MPS = {"name": "l40s-mps", "gpu": "L40S-48GB", "max_nodes": 2, "mps": {"replicas": 8}}
L40S_BOTTLEROCKET = {"name": "l40s-br", "gpu": "L40S-48GB", "max_nodes": 2, "ami_family": "bottlerocket"}
TAINTED = {"name": "l4-team", "gpu": "L4-24GB", "max_nodes": 1, "taints": [{"key": "team", "value": "vision"}]}


def parsed(raw: dict[str, Any]) -> EnvironmentSpec:
    return EnvironmentSpec.model_validate(raw)


def values_for(raw: dict[str, Any], monitoring: bool = True) -> dict[str, Any]:
    env = parsed(raw)
    cluster = env.clusters[0]
    return cfg.helm_values(cluster, resolve_cluster_pools(cluster), cluster_mig_strategy(cluster), monitoring)


# --- driver ownership -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("env", "driver", "expected"),
    [
        (aws_env, "cloud", {"driver": {"enabled": False}, "toolkit": {"enabled": False}}),
        (aws_env, "operator", {"driver": {"enabled": True}, "toolkit": {"enabled": True}}),
        (gcp_env, "cloud", {"driver": {"enabled": False},
                            "toolkit": {"enabled": True, "installDir": "/home/kubernetes/bin/nvidia",
                                        "env": [{"name": "RUNTIME_CONFIG_SOURCE", "value": "file"}]},
                            "hostPaths": {"driverInstallDir": "/home/kubernetes/bin/nvidia"},
                            "cdi": {"enabled": True}}),
        (gcp_env, "operator", {"driver": {"enabled": True},
                               "toolkit": {"enabled": True,
                                           "env": [{"name": "RUNTIME_CONFIG_SOURCE", "value": "file"}]}}),
    ],
)
def test_driver_and_toolkit_follow_who_owns_the_driver(env, driver, expected) -> None:
    values = values_for(env([L4_TS], driver=driver))
    got = {k: values[k] for k in ("driver", "toolkit", "hostPaths", "cdi") if k in values}
    assert got == expected


# --- MIG -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("pools", "strategy"),
    [([L4_TS], "none"), ([H100_ALL_1G, A100_40_ALL_1G], "single"), ([H100_ALL_1G, H100_MIXED], "mixed")],
)
def test_mig_strategy_comes_from_the_pools(pools, strategy) -> None:
    assert values_for(aws_env(pools))["mig"] == {"strategy": strategy}


def test_mig_layouts_are_tied_to_their_gpu_by_device_filter() -> None:
    env = parsed(aws_env([H100_ALL_1G, A100_40_ALL_1G, H100_MIXED, L4_TS]))
    config = cfg.mig_parted_config(resolve_cluster_pools(env.clusters[0]))
    assert config["version"] == "v1"
    layouts = config["mig-configs"]
    assert list(layouts) == ["all-disabled", "all-1g.10gb", "mlinfra-h100-mix"]
    assert layouts["all-disabled"] == [{"devices": "all", "mig-enabled": False}]
    # The same name means 4 instances on an A100-40GB and 7 on an H100-80GB.
    by_filter = {tuple(e["device-filter"]): e["mig-devices"] for e in layouts["all-1g.10gb"]}
    assert by_filter[("0x20B010DE", "0x20B110DE", "0x20F110DE", "0x20F610DE")] == {"1g.10gb": 4}
    assert by_filter[("0x233010DE", "0x233110DE", "0x232210DE", "0x232410DE")] == {"1g.10gb": 7}
    assert layouts["mlinfra-h100-mix"][0]["mig-devices"] == {"2g.20gb": 2, "3g.40gb": 1}


def test_mig_manager_uses_mlinfra_layouts_on_eks_and_stays_off_on_gke() -> None:
    aws = values_for(aws_env([H100_ALL_1G]))
    # On cloud instances mig-manager reboots the node to change MIG mode (NVIDIA GPU operator docs, "GPU
    # Operator with MIG": in a CSP environment set migManager.env WITH_REBOOT=true; ai-on-eks sets it too).
    assert aws["migManager"] == {
        "enabled": True, "config": {"name": "mlinfra-mig-parted-config", "default": "all-disabled", "create": False},
        "env": [{"name": "WITH_REBOOT", "value": "true"}],
    }
    gke_pool = {"name": "h100-gke", "gpu": "H100-80GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 7}}}
    gcp = values_for(gcp_env([gke_pool]))
    assert gcp["migManager"] == {"enabled": False}
    assert gcp["mig"] == {"strategy": "single"}


def test_mig_manager_is_off_without_mig_capable_gpus() -> None:
    assert values_for(aws_env([L4_TS]))["migManager"] == {"enabled": False}


# --- device plugin ---------------------------------------------------------------------------------------

def test_device_plugin_configs_one_per_sharing_setup() -> None:
    env = parsed(aws_env([L4_TS, L4_TS_RENAMED, L40S_MPS, H100_ALL_1G]))
    configs = cfg.device_plugin_configs(resolve_cluster_pools(env.clusters[0]), "single")
    assert configs == {
        "default": {"version": "v1", "flags": {"migStrategy": "single"}},
        "mps-8": {"version": "v1", "flags": {"migStrategy": "single"},
                  "sharing": {"mps": {"renameByDefault": False,
                                      "resources": [{"name": "nvidia.com/gpu", "replicas": 8}]}}},
        "time-slicing-4": {"version": "v1", "flags": {"migStrategy": "single"},
                           "sharing": {"timeSlicing": {"renameByDefault": False, "failRequestsGreaterThanOne": True,
                                                       "resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}},
        "time-slicing-4-renamed-multi": {
            "version": "v1", "flags": {"migStrategy": "single"},
            "sharing": {"timeSlicing": {"renameByDefault": True, "failRequestsGreaterThanOne": False,
                                        "resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}},
    }
    values = values_for(aws_env([L4_TS]))
    assert values["devicePlugin"] == {
        "config": {"name": "mlinfra-device-plugin-config", "default": "default", "create": False}
    }


def test_pools_that_differ_only_in_fail_requests_greater_than_one_get_their_own_configs() -> None:
    # k8s-device-plugin v0.20.0 config format (README "Shared Access to GPUs"): `failRequestsGreaterThanOne`
    # is a setting of the whole `sharing.timeSlicing` block of one named config, so pools sharing a config
    # name share it; two pools that differ in it must select different configs or one gets the other's.
    strict = {"name": "l4-strict", "gpu": "L4-24GB", "max_nodes": 1, "time_slicing": {"replicas": 4}}
    lax = {"name": "l4-lax", "gpu": "L4-24GB", "max_nodes": 1,
           "time_slicing": {"replicas": 4, "fail_requests_greater_than_one": False}}
    pools = resolve_cluster_pools(parsed(aws_env([strict, lax])).clusters[0])
    configs = cfg.device_plugin_configs(pools, "none")
    for pool in pools:
        label = pool.labels["nvidia.com/device-plugin.config"]
        block = configs[label]["sharing"]["timeSlicing"]
        assert block["failRequestsGreaterThanOne"] is pool.spec.time_slicing.fail_requests_greater_than_one
    assert len({p.labels["nvidia.com/device-plugin.config"] for p in pools}) == 2


def test_time_slicing_on_mixed_mig_multiplies_each_mig_resource() -> None:
    pool = {**H100_MIXED, "time_slicing": {"replicas": 2}}
    env = parsed(aws_env([pool], time_slicing_on_mig=True))
    configs = cfg.device_plugin_configs(resolve_cluster_pools(env.clusters[0]), "mixed")
    assert configs["time-slicing-2"]["sharing"]["timeSlicing"]["resources"] == [
        {"name": "nvidia.com/mig-2g.20gb", "replicas": 2},
        {"name": "nvidia.com/mig-3g.40gb", "replicas": 2},
    ]


def test_no_device_plugin_config_without_sharing() -> None:
    assert "devicePlugin" not in values_for(aws_env([H100_ALL_1G]))


# --- tolerations, namespace, DCGM -------------------------------------------------------------------------

def test_daemonsets_tolerate_the_gpu_taint_and_the_pools_own_taints() -> None:
    values = values_for(aws_env([L4_TS, TAINTED]))
    expected = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "team", "operator": "Exists", "effect": "NoSchedule"}]
    assert values["daemonsets"]["tolerations"] == expected
    assert values["node-feature-discovery"]["worker"]["tolerations"][1:] == expected


def test_namespace_is_privileged_for_pod_security() -> None:
    ns = cfg.namespace_manifest()
    assert ns["metadata"]["name"] == "gpu-operator"
    for mode in ("enforce", "audit", "warn"):
        assert ns["metadata"]["labels"][f"pod-security.kubernetes.io/{mode}"] == "privileged"


@pytest.mark.parametrize("monitoring", [True, False])
def test_dcgm_service_monitor_only_with_monitoring(monitoring: bool) -> None:
    values = values_for(aws_env([L4_TS]), monitoring=monitoring)
    assert values["dcgmExporter"] == {
        "enabled": True, "config": {"name": "mlinfra-dcgm-metrics"}, "serviceMonitor": {"enabled": monitoring}
    }


# dcgm-exporter maps GPUs to pods by the id the allocating device plugin used: GKE's plugin names them
# `nvidia0`... (Google's DCGM DaemonSet, GoogleCloudPlatform/prometheus-engine examples/nvidia-dcgm/exporter.yaml,
# sets DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE=device-name), the operator's by UUID, the exporter's default `uid`
# (NVIDIA/dcgm-exporter@4.5.3-4.8.2 pkg/cmd/app.go, internal/pkg/appconfig/const.go).
GPU_ID_TYPE = [
    ("gke, GKE's device plugin", gcp_env([L4_TS]), "device-name"),
    ("gke, the operator's device plugin", gcp_env([L4_TS], driver="operator"), None),
    ("eks", aws_env([L4_TS]), None),
    ("eks, operator driver", aws_env([L4_TS], driver="operator"), None),
]


@pytest.mark.parametrize(("case", "raw", "id_type"), GPU_ID_TYPE, ids=[c[0] for c in GPU_ID_TYPE])
def test_dcgm_exporter_maps_gpus_to_pods_by_the_allocating_plugins_id(case, raw, id_type) -> None:
    env = {e["name"]: e["value"] for e in values_for(raw)["dcgmExporter"].get("env", [])}
    assert env.get("DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE") == id_type


# GKE admits the operator's system-node-critical pods only under a PriorityClass-scoped quota
# (NVIDIA GPU operator GKE guide; NVIDIA/gpu-operator#660; NVIDIA/aicr#921); EKS needs none.
@pytest.mark.parametrize(("raw", "pods"), [
    (gcp_env([L4_TS]), "100"),  # 2 nodes: the floor of NVIDIA's guide
    (gcp_env([{**L4_TS, "max_nodes": 4}, {**H100_ALL_1G, "max_nodes": 3}], driver="operator"), "224"),  # 7 x 32
    (aws_env([L4_TS]), None),
])
def test_critical_pods_quota_per_cloud(raw, pods) -> None:
    cluster = parsed(raw).clusters[0]
    quota = cfg.critical_pods_quota(cluster, resolve_cluster_pools(cluster))
    if pods is None:
        assert quota is None
        return
    assert quota["metadata"]["namespace"] == cfg.NAMESPACE
    assert quota["spec"]["hard"] == {"pods": pods}
    classes = ["system-node-critical", "system-cluster-critical"]
    assert quota["spec"]["scopeSelector"] == {"matchExpressions": [
        {"operator": "In", "scopeName": "PriorityClass", "values": classes}]}


def test_dcgm_exporter_can_be_turned_off() -> None:
    values = values_for(aws_env([L4_TS], dcgm_exporter=False))
    assert values["dcgmExporter"] == {"enabled": False}
    env = parsed(aws_env([L4_TS], dcgm_exporter=False))
    maps = cfg.config_maps(env.clusters[0], resolve_cluster_pools(env.clusters[0]), "none", False)
    assert [m["metadata"]["name"] for m in maps] == ["mlinfra-device-plugin-config"]


def test_dcgm_counters_cover_what_gpu_alerts_need() -> None:
    names = exported_metric_names()
    for needed in ("DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_THERMAL_VIOLATION", "DCGM_FI_DEV_POWER_VIOLATION",
                   "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_ROW_REMAP_FAILURE", "DCGM_FI_DEV_GPU_UTIL",
                   "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"):
        assert needed in names
    assert "DCGM_FI_DRIVER_VERSION" not in names  # a label, not a metric
    assert len({c.field for c in DCGM_COUNTERS}) == len(DCGM_COUNTERS)


# --- checks -----------------------------------------------------------------------------------------------

VALID = [
    pytest.param(aws_env([H100_ALL_1G, H100_MIXED]), id="aws-mixed-auto"),
    pytest.param(aws_env([H100_ALL_1G], mig_strategy="single"), id="aws-single-pinned"),
    pytest.param(aws_env([H100_ALL_1G, H100_MIXED], mig_strategy="mixed"), id="aws-mixed-pinned"),
    pytest.param(aws_env([{**H100_ALL_1G, "time_slicing": {"replicas": 2}}], time_slicing_on_mig=True),
                 id="time-slicing-on-mig-opted-in"),
    pytest.param(aws_env([L40S_BOTTLEROCKET]), id="bottlerocket-cloud-driver"),
    # Every MIG pool with one profile per GPU: the single strategy, under which the plugin runs MPS.
    pytest.param(aws_env([H100_ALL_1G, L40S_MPS]), id="mps-beside-single-strategy-mig"),
    pytest.param(aws_env([{**L4_TS, "ami_family": "al2023"}], driver="operator"), id="al2023-operator-driver"),
    pytest.param(gcp_env([L4_TS], driver="operator"), id="gke-operator-driver"),
    pytest.param(gcp_env([H100_ALL_1G, H100_MIXED], driver="operator", mig_strategy="mixed"),
                 id="gke-operator-mixed-pinned"),
    pytest.param(gcp_env([{**H100_ALL_1G, "time_slicing": {"replicas": 2}}], driver="operator",
                         time_slicing_on_mig=True), id="gke-operator-time-slicing-on-mig"),
    pytest.param(gcp_env([L4_TS], enabled=False), id="gke-native-without-operator"),
]

INVALID = [
    pytest.param(aws_env([H100_ALL_1G, H100_MIXED], mig_strategy="single"),
                 "clusters[0].pools[1].mig.profiles", "pinned to `single`", id="mixed-layout-under-single"),
    pytest.param(aws_env([H100_ALL_1G], mig_strategy="mixed"),
                 "clusters[0].gpu_operator.mig_strategy", "resolve to the `single` strategy",
                 id="mixed-pinned-on-single"),
    pytest.param(gcp_env([{"name": "h", "gpu": "H100-80GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 7}}}],
                         mig_strategy="mixed"),
                 "clusters[0].gpu_operator.mig_strategy", "GKE's device plugin always uses the single",
                 id="gke-mixed-pinned"),
    pytest.param(gcp_env([L4_TS], driver="operator", enabled=False),
                 "clusters[0].gpu_operator.enabled", "GKE installs no driver and runs no device plugin",
                 id="gke-operator-driver-without-operator"),
    pytest.param(aws_env([L4_TS], driver="operator", enabled=False),
                 "clusters[0].gpu_operator.enabled", "plain node images carry no driver",
                 id="eks-operator-driver-without-operator"),
    pytest.param(gcp_env([H100_ALL_1G, H100_MIXED], driver="operator", mig_strategy="single"),
                 "clusters[0].pools[1].mig.profiles", "pinned to `single`",
                 id="gke-operator-mixed-layout-under-single"),
    pytest.param(aws_env([{**H100_ALL_1G, "mps": {"replicas": 2}}]),
                 "clusters[0].pools[0].mps", "MPS cannot share MIG devices", id="mps-on-mig"),
    pytest.param(aws_env([{**H100_ALL_1G, "time_slicing": {"replicas": 2}}]),
                 "clusters[0].pools[0].time_slicing", "time_slicing_on_mig: true", id="time-slicing-on-mig"),
    pytest.param(aws_env([L40S_BOTTLEROCKET], driver="operator"),
                 "clusters[0].pools[0].ami_family", "two drivers", id="operator-driver-on-bottlerocket"),
    # k8s-device-plugin v0.20.0 cmd/nvidia-device-plugin/main.go: "using --mig-strategy=mixed is not supported
    # with MPS"; the operator passes the cluster's strategy to every plugin as MIG_STRATEGY, which beats the
    # config file (gpu-operator v26.7.0 applyMIGConfiguration; device plugin api/config/v1 NewConfig).
    pytest.param(aws_env([H100_MIXED, L40S_MPS]),
                 "clusters[0].pools[1].mps", "refuses MPS under the mixed", id="mps-in-a-mixed-strategy-cluster"),
    pytest.param(aws_env([L40S_MPS, H100_ALL_1G, H100_MIXED]),
                 "clusters[0].pools[0].mps", "pool h100-mix", id="mps-first-in-a-mixed-strategy-cluster"),
    pytest.param(gcp_env([{"name": "l4-mps", "gpu": "L4-24GB", "max_nodes": 1, "mps": {"replicas": 4}},
                          H100_ALL_1G, H100_MIXED], driver="operator"),
                 "clusters[0].pools[0].mps", "Use `time_slicing` on this pool", id="gke-operator-mps-under-mixed"),
    # Bottlerocket runs its own device plugin; the operator's plugin and MIG manager stay off there
    # (the input, then MPS and MIG).
    pytest.param(aws_env([{"name": "l4-br", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
                           "ami_family": "bottlerocket", "time_slicing": {"replicas": 4}}]),
                 "clusters[0].pools[0].time_slicing", "Bottlerocket", id="bottlerocket-time-slicing"),
    pytest.param(aws_env([{**L40S_BOTTLEROCKET, "mps": {"replicas": 4}}]),
                 "clusters[0].pools[0].mps", "ami_family: al2023", id="bottlerocket-mps"),
    pytest.param(aws_env([{**H100_ALL_1G, "ami_family": "bottlerocket"}]),
                 "clusters[0].pools[0].mig", "own device plugin", id="bottlerocket-mig"),
    pytest.param(aws_env([H100_ALL_1G, {**H100_MIXED, "name": "all-1g", "mig": {"profiles": {"1g.10gb": 6}}}]),
                 None, None, id="distinct-layout-names-ok"),
]


@pytest.mark.parametrize("raw", VALID)
def test_valid_specs_have_no_gpu_operator_problems(raw) -> None:
    assert list(checks.check(parsed(raw))) == []


@pytest.mark.parametrize(("raw", "path", "message"), INVALID)
def test_invalid_specs_name_the_field_and_what_is_allowed(raw, path, message) -> None:
    problems = list(checks.check(parsed(raw)))
    if path is None:
        assert problems == []
        return
    assert [p.path for p in problems] == [path], [str(p) for p in problems]
    assert message in problems[0].message


def test_problems_are_raised_before_anything_is_registered() -> None:
    raw = aws_env([{**H100_ALL_1G, "time_slicing": {"replicas": 2}}])
    problems = run_checks(parsed(raw))
    assert any(p.path == "clusters[0].pools[0].time_slicing" for p in problems)
    with pytest.raises(ValueError, match="time_slicing_on_mig"):
        load_environment(copy.deepcopy(raw))


# --- renders through the Platform -------------------------------------------------------------------------

def _release(files: dict[str, str], cluster: str) -> dict[str, Any]:
    return yaml.safe_load(files[f"helm/{cluster}/gpu-operator.yaml"])


def _data(files: dict[str, str], cluster: str, name: str) -> dict[str, str]:
    return yaml.safe_load(files[f"manifests/{cluster}/gpu-operator/ConfigMap-{name}.yaml"])["data"]


GKE_POOLS = [
    {"name": "h100-mig", "gpu": "H100-80GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 7}}},
    L4_TS,
    {"name": "l4-mps", "gpu": "L4-24GB", "max_nodes": 1, "mps": {"replicas": 4}},
]
DP_CONFIG = {"name": "mlinfra-device-plugin-config", "default": "default", "create": False}
MIG_CONFIG = {"name": "mlinfra-mig-parted-config", "default": "all-disabled", "create": False}

# (driver, devicePlugin values, migManager values, ConfigMaps of the add-on)
GKE_MODES = [
    # GKE's device plugin advertises, GKE partitions: the operator keeps GFD, DCGM and the toolkit only.
    ("cloud", {"enabled": False}, {"enabled": False}, ["mlinfra-dcgm-metrics"]),
    # The operator's device plugin and MIG manager, fed by mlinfra's configs, exactly as on EKS.
    ("operator", {"config": DP_CONFIG},
     {"enabled": True, "config": MIG_CONFIG, "env": [{"name": "WITH_REBOOT", "value": "true"}]},
     ["mlinfra-dcgm-metrics", "mlinfra-device-plugin-config", "mlinfra-mig-parted-config"]),
]


@pytest.mark.parametrize(("driver", "device_plugin", "mig_manager", "maps"), GKE_MODES, ids=[m[0] for m in GKE_MODES])
def test_gke_render_runs_one_device_plugin_per_node(driver, device_plugin, mig_manager, maps) -> None:
    raw = gcp_env(GKE_POOLS, driver=driver)
    raw["monitoring"] = {"enabled": True}
    files = render_environment(raw)
    release = _release(files, "gke")
    assert (release["chart"], release["version"], release["namespace"]) == ("gpu-operator", "v26.7.0", "gpu-operator")
    assert release["repository"] == "https://helm.ngc.nvidia.com/nvidia"
    values = release["values"]
    assert values["devicePlugin"] == device_plugin
    assert values["migManager"] == mig_manager
    assert values["mig"] == {"strategy": "single"}
    assert values["driver"] == {"enabled": driver == "operator"}
    assert values["dcgmExporter"]["serviceMonitor"] == {"enabled": True}
    assert "gfd" not in values and "nfd" not in values  # chart defaults: GFD and NFD stay on in both modes
    assert sorted(p for p in files if p.startswith("manifests/gke/gpu-operator/")) == [
        *(f"manifests/gke/gpu-operator/ConfigMap-{m}.yaml" for m in maps),
        "manifests/gke/gpu-operator/ResourceQuota-mlinfra-critical-pods.yaml"]
    # GKE's plugin names GPUs by device (nvidia0...), the operator's by UUID: dcgm-exporter maps them to pods
    # with the id type of whichever plugin allocated them.
    env = values["dcgmExporter"].get("env")
    assert env == ([{"name": "DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE", "value": "device-name"}]
                   if driver == "cloud" else None)
    assert CSV_KEY in _data(files, "gke", "mlinfra-dcgm-metrics")
    privileged = [p for p, text in files.items() if p.endswith(".yaml") and "/Namespace-" in p
                  and "pod-security.kubernetes.io/enforce: privileged" in text]
    # The monitoring namespace is the monitoring add-on's business; no namespace of this add-on but its own.
    assert "manifests/gke/_cluster/Namespace-gpu-operator.yaml" in privileged
    if driver == "operator":
        data = _data(files, "gke", "mlinfra-device-plugin-config")
        assert sorted(data) == ["default", "mps-4", "time-slicing-4"]
        assert yaml.safe_load(data["mps-4"])["sharing"]["mps"]["resources"] == [
            {"name": "nvidia.com/gpu", "replicas": 4}]
        layouts = yaml.safe_load(_data(files, "gke", "mlinfra-mig-parted-config")["config.yaml"])["mig-configs"]
        assert set(layouts) == {"all-disabled", "all-1g.10gb"}


def test_gke_operator_driver_follows_the_pools_to_the_mixed_strategy() -> None:
    values = values_for(gcp_env([H100_ALL_1G, H100_MIXED], driver="operator"))
    assert values["mig"] == {"strategy": "mixed"}
    assert values["migManager"]["enabled"] is True
    # GKE-native clusters never leave the single strategy: GKE advertises each partition as nvidia.com/gpu.
    assert values_for(gcp_env([H100_ALL_1G]))["mig"] == {"strategy": "single"}


def test_eks_render_with_mig_and_time_slicing_pools() -> None:
    raw = aws_env([H100_ALL_1G, H100_MIXED, A100_40_ALL_1G, L4_TS_RENAMED, L4_TS])
    raw["monitoring"] = {"enabled": False}
    files = render_environment(raw)
    values = _release(files, "eks")["values"]
    assert values["mig"] == {"strategy": "mixed"}
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["migManager"]["config"]["name"] == "mlinfra-mig-parted-config"
    assert values["dcgmExporter"]["serviceMonitor"] == {"enabled": False}
    layouts = yaml.safe_load(_data(files, "eks", "mlinfra-mig-parted-config")["config.yaml"])["mig-configs"]
    assert set(layouts) == {"all-disabled", "all-1g.10gb", "mlinfra-h100-mix"}
    dp = _data(files, "eks", "mlinfra-device-plugin-config")
    assert sorted(dp) == ["default", "time-slicing-4", "time-slicing-4-renamed-multi"]


def test_gpu_operator_disabled_renders_nothing() -> None:
    files = render_environment(gcp_env([L4_TS], enabled=False))
    assert not [p for p in files if "gpu-operator" in p]


def test_bottlerocket_nodes_keep_the_operators_device_plugin_and_mig_manager_away() -> None:
    """Bottlerocket NVIDIA nodes run their own device plugin (bottlerocket-os/bottlerocket#1916); the operator
    skips operands whose `nvidia.com/gpu.deploy.*` label is `false` and never overwrites a set label
    (gpu-operator v26.7.0 controllers/state_manager.go addGPUStateLabels). The pool contract carries them,
    so the managed node group and Karpenter both label the nodes."""
    cluster = parsed(aws_env([L40S_BOTTLEROCKET, {**L4_TS, "ami_family": "al2023"}])).clusters[0]
    bottlerocket, al2023 = resolve_cluster_pools(cluster)
    assert bottlerocket.labels["nvidia.com/gpu.deploy.device-plugin"] == "false"
    assert bottlerocket.labels["nvidia.com/gpu.deploy.mig-manager"] == "false"
    assert not any(k.startswith("nvidia.com/gpu.deploy.") for k in al2023.labels)
    # A user label cannot turn the operator's plugin back on beside Bottlerocket's own.
    cluster = parsed(aws_env([{**L40S_BOTTLEROCKET, "labels": {"nvidia.com/gpu.deploy.device-plugin": "true"}}]))
    (pool,) = resolve_cluster_pools(cluster.clusters[0])
    assert pool.labels["nvidia.com/gpu.deploy.device-plugin"] == "false"


def test_device_plugin_configs_refuse_mps_under_the_mixed_strategy() -> None:
    cluster = parsed(aws_env([H100_MIXED, L40S_MPS])).clusters[0]
    with pytest.raises(ValueError, match="mixed"):
        cfg.device_plugin_configs(resolve_cluster_pools(cluster), "mixed")
