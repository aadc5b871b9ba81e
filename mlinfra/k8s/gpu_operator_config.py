"""Pure decisions of the GPU operator add-on: Helm values, MIG layouts, device-plugin configs and manifests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from mlinfra.catalog.dcgm import CSV_KEY, counters_csv
from mlinfra.k8s import namespaces
from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.resolve import GPU_RESOURCE, GPU_TAINT, MigStrategy, ResolvedPool, gke_native

NAMESPACE = "gpu-operator"
RELEASE = "gpu-operator"
MIG_CONFIG_MAP = "mlinfra-mig-parted-config"
DEVICE_PLUGIN_CONFIG_MAP = "mlinfra-device-plugin-config"
DCGM_CONFIG_MAP = "mlinfra-dcgm-metrics"
# mig-manager reads this key of its ConfigMap (the chart says so in values.yaml).
MIG_CONFIG_KEY = "config.yaml"
MIG_DISABLED = "all-disabled"
# The device-plugin config nodes without the `nvidia.com/device-plugin.config` label get: no sharing.
DEVICE_PLUGIN_DEFAULT = "default"
# Where GKE's driver installer puts the driver on COS nodes; the operator's toolkit and validator look there.
GKE_DRIVER_DIR = "/home/kubernetes/bin/nvidia"
# NVIDIA's workaround for GKE 1.33+, whose containerd config the toolkit otherwise rewrites wrongly.
GKE_TOOLKIT_ENV = [{"name": "RUNTIME_CONFIG_SOURCE", "value": "file"}]
# GKE's device plugin names the GPUs it allocates `nvidia0`, `nvidia1`... in the kubelet's pod-resources API,
# not by UUID; dcgm-exporter maps GPUs to pods by UUID unless told to use device names (dcgm-exporter
# 4.5.3-4.8.2 pkg/cmd/app.go flag `kubernetes-gpu-id-type`, env DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE, values
# `uid` (default) and `device-name`; Google's own DaemonSet, GoogleCloudPlatform/prometheus-engine
# examples/nvidia-dcgm/exporter.yaml, sets `device-name`).
DCGM_GPU_ID_TYPE_ENV = {"name": "DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE", "value": "device-name"}
# On cloud instances mig-manager must reboot the node to apply a MIG mode change (NVIDIA GPU operator docs,
# "GPU Operator with MIG": in a CSP environment set migManager.env WITH_REBOOT=true; ai-on-eks sets it).
MIG_MANAGER_ENV = [{"name": "WITH_REBOOT", "value": "true"}]
CONTROL_PLANE_TOLERATION = {
    "key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule",
}


def namespace_manifest() -> dict[str, Any]:
    """The operator's namespace: the only one mlinfra labels `privileged` for Pod Security Admission.

    The driver, toolkit and device-plugin pods mount host paths and run privileged; nothing else may.
    """
    labels = {f"pod-security.kubernetes.io/{mode}": "privileged" for mode in ("enforce", "audit", "warn")}
    labels["app.kubernetes.io/managed-by"] = "mlinfra"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}}


def critical_pods_quota(cluster: ClusterSpec, pools: Iterable[ResolvedPool]) -> dict[str, Any] | None:
    """The ResourceQuota that admits the operator's pods on GKE, or None elsewhere.

    The chart runs the operator, its DaemonSets and NFD at `system-node-critical` (gpu-operator v26.7.0
    values.yaml: `operator.priorityClassName`, `daemonsets.priorityClassName`,
    `node-feature-discovery.priorityClassName`), which GKE admits outside kube-system only under such a quota.
    """
    if not namespaces.gates_critical_priority(cluster.cloud):
        return None
    return namespaces.critical_pods_quota(NAMESPACE, sum(p.spec.max_nodes for p in pools))


def _config_map(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "mlinfra"}},
        "data": data,
    }


def manages_mig(cluster: ClusterSpec, pools: Iterable[ResolvedPool]) -> bool:
    """Whether mig-manager runs: when any pool's GPU has MIG (it also keeps MIG off on non-MIG pools).

    On GKE-native clusters GKE partitions GPUs itself (the node pool's `gpu_partition_size`), so mig-manager
    stays off there; with `driver: operator` GKE partitions nothing and mig-manager does it, as on EKS.
    """
    return not gke_native(cluster) and any(p.gpu.mig_capable for p in pools)


def runs_device_plugin(cluster: ClusterSpec) -> bool:
    """Whether the operator runs its device plugin: everywhere except GKE-native clusters.

    GKE's own device plugin advertises `nvidia.com/gpu` unless a node carries
    `gke-no-default-nvidia-gpu-device-plugin=true`, which only operator-driver pools do; two plugins on
    one node would both advertise the GPUs.
    """
    return not gke_native(cluster)


def mig_parted_config(pools: Iterable[ResolvedPool]) -> dict[str, Any]:
    """The mig-parted config (`version: v1`) with one named layout per distinct `nvidia.com/mig.config` label.

    Each layout entry is tied to its GPU model by `device-filter` (PCI IDs), so a layout name such as
    `all-1g.10gb`, which means 7 instances on an H100-80GB and 4 on an A100-40GB, stays right for each GPU.
    `all-disabled` is always present: it is the default for nodes without the label.
    """
    layouts: dict[str, dict[str, dict[str, Any]]] = {}
    for pool in pools:
        layout = pool.labels.get("nvidia.com/mig.config")
        if layout is None or pool.spec.mig is None:
            continue
        entry: dict[str, Any] = {}
        if pool.gpu.pci_device_ids:
            entry["device-filter"] = list(pool.gpu.pci_device_ids)
        entry["devices"] = "all"
        entry["mig-enabled"] = True
        entry["mig-devices"] = dict(sorted(pool.spec.mig.profiles.items()))
        layouts.setdefault(layout, {})[pool.gpu.name] = entry
    configs: dict[str, Any] = {MIG_DISABLED: [{"devices": "all", "mig-enabled": False}]}
    for name in sorted(layouts):
        configs[name] = [layouts[name][gpu] for gpu in sorted(layouts[name])]
    return {"version": "v1", "mig-configs": configs}


def _shared_resources(pool: ResolvedPool, strategy: MigStrategy) -> list[str]:
    """The extended resources a sharing config multiplies on a pool's nodes."""
    if pool.spec.mig is not None and strategy == "mixed":
        return [pool.gpu.mig_profiles[p].resource_name for p in sorted(pool.spec.mig.profiles)]
    return [GPU_RESOURCE]


def device_plugin_configs(pools: Iterable[ResolvedPool], strategy: MigStrategy) -> dict[str, dict[str, Any]]:
    """One device-plugin config (v0.20.0 format, `version: v1`) per sharing setup, by the pools' config names.

    `default` (no sharing) serves nodes without the `nvidia.com/device-plugin.config` label. Pools that share
    a config name share the config; under the mixed strategy its resources are the union of their MIG
    resources, since the plugin only applies the entries whose resource exists on the node.
    """
    pools = list(pools)
    if strategy == "mixed" and any(p.spec.mps is not None for p in pools):
        # checks/gpu_operator.py refuses this spec; the plugin would not start.
        raise ValueError("the device plugin refuses MPS under the mixed MIG strategy")
    flags = {"migStrategy": strategy}
    configs: dict[str, dict[str, Any]] = {DEVICE_PLUGIN_DEFAULT: {"version": "v1", "flags": dict(flags)}}
    resources: dict[str, set[str]] = {}
    for pool in pools:
        name = pool.device_plugin_config
        sharing = pool.spec.time_slicing or pool.spec.mps
        if name is None or sharing is None:
            continue
        resources.setdefault(name, set()).update(_shared_resources(pool, strategy))
        if pool.spec.time_slicing is not None:
            body: dict[str, Any] = {
                "timeSlicing": {
                    "renameByDefault": sharing.rename_by_default,
                    "failRequestsGreaterThanOne": pool.spec.time_slicing.fail_requests_greater_than_one,
                }
            }
        else:
            body = {"mps": {"renameByDefault": sharing.rename_by_default}}
        configs[name] = {"version": "v1", "flags": dict(flags), "sharing": body, "_replicas": sharing.replicas}
    for name, names in resources.items():
        config = configs[name]
        replicas = config.pop("_replicas")
        (mode,) = config["sharing"]
        config["sharing"][mode]["resources"] = [{"name": r, "replicas": replicas} for r in sorted(names)]
    return dict(sorted(configs.items()))


def config_maps(cluster: ClusterSpec, pools: list[ResolvedPool], strategy: MigStrategy,
                dcgm_exporter: bool) -> list[dict[str, Any]]:
    """The ConfigMaps the operator's values reference: MIG layouts, device-plugin configs, DCGM counters."""
    maps = []
    if manages_mig(cluster, pools):
        doc = yaml.safe_dump(mig_parted_config(pools), sort_keys=False)
        maps.append(_config_map(MIG_CONFIG_MAP, {MIG_CONFIG_KEY: doc}))
    if runs_device_plugin(cluster) and any(p.device_plugin_config for p in pools):
        configs = device_plugin_configs(pools, strategy)
        maps.append(_config_map(DEVICE_PLUGIN_CONFIG_MAP,
                                {k: yaml.safe_dump(v, sort_keys=False) for k, v in configs.items()}))
    if dcgm_exporter:
        maps.append(_config_map(DCGM_CONFIG_MAP, {CSV_KEY: counters_csv()}))
    return maps


def daemonset_tolerations(pools: Iterable[ResolvedPool]) -> list[dict[str, str]]:
    """Tolerations of the operator's daemonsets: the GPU taint and every taint a GPU pool carries.

    Values are matched with `Exists`: the daemonsets must land on every GPU node whatever the taint's value.
    """
    seen = {(GPU_TAINT["key"], GPU_TAINT["effect"])}
    for pool in pools:
        seen.update((t["key"], t["effect"]) for t in pool.taints)
    return [{"key": k, "operator": "Exists", "effect": e} for k, e in sorted(seen)]


def driver_values(cluster: ClusterSpec) -> dict[str, Any]:
    """Driver, toolkit and host-path values for who owns the driver on this cloud.

    - `driver: operator`: the operator installs driver and container toolkit (plain node images).
    - EKS with `driver: cloud`: the EKS NVIDIA AMIs and Bottlerocket NVIDIA carry driver and toolkit.
    - GKE with `driver: cloud`: GKE installs the driver under /home/kubernetes/bin/nvidia; the operator's
      toolkit installs beside it and uses CDI, as NVIDIA's GKE guidance asks for a Google-installed driver
      (`cdi.default` is deprecated in this chart: `cdi.enabled` already makes CDI the default).
    - On GKE the toolkit reads containerd's config from its file (`RUNTIME_CONFIG_SOURCE=file`), NVIDIA's
      workaround for GKE 1.33 and later.
    """
    gke_toolkit_env = {"env": [dict(e) for e in GKE_TOOLKIT_ENV]} if cluster.cloud == "gcp" else {}
    if cluster.gpu_operator.driver == "operator":
        return {"driver": {"enabled": True}, "toolkit": {"enabled": True, **gke_toolkit_env}}
    if cluster.cloud == "aws":
        return {"driver": {"enabled": False}, "toolkit": {"enabled": False}}
    return {
        "driver": {"enabled": False},
        "toolkit": {"enabled": True, "installDir": GKE_DRIVER_DIR, **gke_toolkit_env},
        "hostPaths": {"driverInstallDir": GKE_DRIVER_DIR},
        "cdi": {"enabled": True},
    }


def helm_values(cluster: ClusterSpec, pools: list[ResolvedPool], strategy: MigStrategy,
                monitoring: bool) -> dict[str, Any]:
    """The gpu-operator chart values for one cluster.

    `strategy` is the cluster's MIG strategy (`ClusterContext.mig_strategy`); `monitoring` says whether the
    monitoring stack (and so the ServiceMonitor CRD) is installed on the cluster.
    """
    spec = cluster.gpu_operator
    tolerations = daemonset_tolerations(pools)
    values: dict[str, Any] = driver_values(cluster)
    values["mig"] = {"strategy": strategy}
    values["daemonsets"] = {"tolerations": tolerations}
    # NFD labels the GPU nodes the operator then targets, so its workers need the same tolerations.
    values["node-feature-discovery"] = {"worker": {"tolerations": [dict(CONTROL_PLANE_TOLERATION), *tolerations]}}
    mig = manages_mig(cluster, pools)
    values["migManager"] = {"enabled": mig}
    if mig:
        values["migManager"]["config"] = {"name": MIG_CONFIG_MAP, "default": MIG_DISABLED, "create": False}
        values["migManager"]["env"] = [dict(e) for e in MIG_MANAGER_ENV]
    if not runs_device_plugin(cluster):
        # GKE's device plugin advertises the GPUs; GFD, DCGM and the validator still run.
        values["devicePlugin"] = {"enabled": False}
    elif any(p.device_plugin_config for p in pools):
        values["devicePlugin"] = {"config": {"name": DEVICE_PLUGIN_CONFIG_MAP, "default": DEVICE_PLUGIN_DEFAULT,
                                             "create": False}}
    values["dcgmExporter"] = {"enabled": spec.dcgm_exporter}
    if spec.dcgm_exporter:
        values["dcgmExporter"]["config"] = {"name": DCGM_CONFIG_MAP}
        # The chart turns the ServiceMonitor on by default; without the monitoring stack there is no CRD.
        values["dcgmExporter"]["serviceMonitor"] = {"enabled": monitoring}
        if not runs_device_plugin(cluster):
            # GKE's plugin allocated the GPUs and names them by device: map them to pods by that name.
            values["dcgmExporter"]["env"] = [dict(DCGM_GPU_ID_TYPE_ENV)]
    return values
