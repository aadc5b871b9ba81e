"""Pure decisions for Fluid: a cache spec and its pools in, Helm values and Fluid manifests out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlinfra.k8s import namespaces
from mlinfra.k8s.namespaces import MANAGED_BY
from mlinfra.spec.caches import CacheSpec, MountSpec
from mlinfra.spec.resolve import LABEL_POOL, ResolvedPool

API_VERSION = "data.fluid.io/v1alpha1"
NAMESPACE = "fluid-system"
# Alluxio pods in the Fluid namespace run as its `default` service account (the AlluxioRuntime has no
# service-account field), so the cloud identity is bound to that account.
RUNTIME_SERVICE_ACCOUNT = "default"
# Fluid's pod admission webhook listens on 9443: the chart's Service `fluid-pod-admission-webhook` targets that
# port and no value changes it (fluid-cloudnative/fluid charts/fluid/fluid/templates/webhook/service.yaml).
WEBHOOK_PORT = 9443


def namespace_manifest() -> dict[str, Any]:
    """The Fluid namespace: the only one allowed privileged pods (CSI plugin, FUSE and cache workers)."""
    return namespaces.namespace_manifest(NAMESPACE, "privileged")


def helm_values() -> dict[str, Any]:
    """Values of the Fluid chart (keys of its values.yaml only).

    The Alluxio runtime controller caches the data; the thin runtime controller serves the `dataset://`
    references that give each team its PVC. Fluid's other engines stay off.

    `csi.useNodeAuthorization: false`: by default the CSI plugin borrows the kubelet's kubeconfig, mounted
    from `/etc/kubernetes/kubelet.conf` as a hostPath of type File (chart v1.0.8
    templates/csi/daemonset.yaml), so the plugin pod cannot even start where that file is missing. Neither
    cloud has it: GKE's kubelet kubeconfig is `/var/lib/kubelet/kubeconfig` and calls `gke-exec-auth-plugin`
    with a CA under /etc/srv/kubernetes (fluid#4203), EKS's needs a credential plugin too
    (fluid#4496, which names EKS), and the chart cannot mount those. Fluid added this switch for exactly that
    case (fluid#4494): the plugin then talks to the API server as its own service account (RBAC) instead of
    with node authorization, a wider permission that docs/caches.md states. `csi.kubelet.rootDir` keeps the
    chart's `/var/lib/kubelet`, the kubelet root on both clouds.

    `runtime.criticalFusePod` stays on (FUSE pods at `system-node-critical`, so a node under pressure evicts
    workloads before the mount they read from); on GKE the namespace's critical-pods quota admits them.
    """
    return {
        "namespace": NAMESPACE,
        "csi": {"useNodeAuthorization": False},
        "runtime": {
            "alluxio": {"enabled": True},
            "thin": {"enabled": True},
        },
    }


def critical_pods_quota(cloud: str, pools: list[ResolvedPool]) -> dict[str, Any] | None:
    """The ResourceQuota GKE needs before Fluid's FUSE pods (`system-node-critical`, chart v1.0.8
    charts/alluxio/templates/fuse/daemonset.yaml with `runtime.criticalFusePod`) are admitted in the
    Fluid namespace; None on clouds that do not gate those priority classes (see `namespaces`)."""
    if not namespaces.gates_critical_priority(cloud):
        return None
    return namespaces.critical_pods_quota(NAMESPACE, sum(p.spec.max_nodes for p in pools))


def mount_name(cache: CacheSpec, index: int, mount: MountSpec) -> str:
    """The mount's name inside the Dataset."""
    return mount.name or (cache.name if len(cache.mounts) == 1 else f"{cache.name}-{index}")


def dataset_mount(cache: CacheSpec, index: int, mount: MountSpec) -> dict[str, Any]:
    """One read-only Dataset mount; credentials only as Secret references (`encryptOptions`)."""
    name = mount_name(cache, index, mount)
    out: dict[str, Any] = {
        "mountPoint": mount.url,
        "name": name,
        "path": mount.path or ("/" if len(cache.mounts) == 1 else f"/{name}"),
        "readOnly": True,
    }
    if mount.options:
        out["options"] = dict(sorted(mount.options.items()))
    if mount.secret_options:
        out["encryptOptions"] = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}
            for key, ref in sorted(mount.secret_options.items())
        ]
    return out


def placement(pools: list[ResolvedPool]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Node affinity to the pools (by `mlinfra.io/pool`) and the tolerations their taints need."""
    affinity = {
        "required": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": LABEL_POOL, "operator": "In", "values": sorted(p.name for p in pools)}]}
            ]
        }
    }
    tolerations: list[dict[str, Any]] = []
    for pool in pools:
        for toleration in pool.toleration:
            if toleration not in tolerations:
                tolerations.append(toleration)
    return affinity, tolerations


def dataset_manifest(cache: CacheSpec, pools: list[ResolvedPool]) -> dict[str, Any]:
    """The Dataset in the Fluid namespace: the buckets, read-only, cached on the GPU pools' nodes."""
    affinity, tolerations = placement(pools)
    return {
        "apiVersion": API_VERSION,
        "kind": "Dataset",
        "metadata": {"name": cache.name, "namespace": NAMESPACE, "labels": dict(MANAGED_BY)},
        "spec": {
            "mounts": [dataset_mount(cache, k, m) for k, m in enumerate(cache.mounts)],
            "accessModes": ["ReadOnlyMany"],
            # Several caches may sit on the same GPU nodes (Fluid's default would give each node to one).
            "placement": "Shared",
            "nodeAffinity": affinity,
            "tolerations": tolerations,
        },
    }


def runtime_manifest(cache: CacheSpec) -> dict[str, Any]:
    """The AlluxioRuntime bound to the Dataset (same name): workers and their tiered store."""
    levels = [
        {
            "mediumtype": tier.medium,
            "path": tier.host_path,
            "quota": tier.quota,
            "high": f"{tier.high:g}",
            "low": f"{tier.low:g}",
        }
        for tier in cache.tiers
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "AlluxioRuntime",
        "metadata": {"name": cache.name, "namespace": NAMESPACE, "labels": dict(MANAGED_BY)},
        "spec": {
            "replicas": cache.replicas,
            "tieredstore": {"levels": levels},
            # The cached data is a read-only copy; Fluid removes the FUSE pods once the runtime goes.
            "fuse": {"cleanPolicy": "OnRuntimeDeleted"},
        },
    }


def dataload_manifest(cache: CacheSpec) -> dict[str, Any] | None:
    """The DataLoad that warms the cache, or None when the spec asks for no warm-up."""
    if cache.warmup is None:
        return None
    spec: dict[str, Any] = {
        "dataset": {"name": cache.name, "namespace": NAMESPACE},
        "loadMetadata": cache.warmup.load_metadata,
        "target": [{"path": p} for p in cache.warmup.paths],
        "policy": "Cron" if cache.warmup.schedule else "Once",
    }
    if cache.warmup.schedule:
        spec["schedule"] = cache.warmup.schedule
    return {
        "apiVersion": API_VERSION,
        "kind": "DataLoad",
        "metadata": {"name": f"{cache.name}-warmup", "namespace": NAMESPACE, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


def team_dataset_manifest(cache: CacheSpec, namespace: str) -> dict[str, Any]:
    """A Dataset in a team's namespace (`namespace`, the team's `namespace_name`) referencing the cache
    (`dataset://fluid-system/<cache>`).

    Fluid gives it a PVC named after the cache in the team's namespace, served by the FUSE pods in the Fluid
    namespace through the CSI plugin, so the team's namespace needs no privileged pods.
    """
    return {
        "apiVersion": API_VERSION,
        "kind": "Dataset",
        "metadata": {"name": cache.name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {"mounts": [{"mountPoint": f"dataset://{NAMESPACE}/{cache.name}", "name": cache.name, "path": "/"}]},
    }


def cache_manifests(
    cache: CacheSpec, pools: list[ResolvedPool], team_namespaces: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Every Fluid object of one cache, in creation order.

    `team_namespaces` maps a team name to its namespace (`scheduling_model.team_namespaces`); a team's
    Dataset and PVC go there. Default: each team's namespace is its name.
    """
    objs = [dataset_manifest(cache, pools), runtime_manifest(cache)]
    load = dataload_manifest(cache)
    if load is not None:
        objs.append(load)
    names = team_namespaces or {}
    objs += [team_dataset_manifest(cache, names.get(team, team)) for team in cache.teams]
    return objs
