"""Ports on the nodes that a cluster's control plane must reach: the add-ons' webhooks and aggregated APIs.

The API server calls admission webhooks and aggregated APIs on the serving pod's IP and target port. On a
private GKE cluster the control plane reaches the nodes on 443 and 10250 only, unless a firewall rule opens
more ("Adding firewall rules for specific use cases", GKE private clusters), so each port here becomes part
of that rule (`mlinfra.gcp.network.webhook_firewall`). The ports are the constants the add-on modules put
into their own Helm values, so the rule follows the add-ons' configuration.
"""

from __future__ import annotations

from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.environment import EnvironmentSpec


def control_plane_ports(env: EnvironmentSpec, cluster: ClusterSpec) -> dict[str, int]:
    """Add-on name -> the TCP port its webhook or aggregated API serves on, for the add-ons `cluster` installs.

    kueue and kueue-visibility (scheduler `kueue`: its webhook and its visibility APIService), volcano (scheduler
    `volcano`), fluid (a cache on the cluster), prometheus-operator (monitoring on) and prometheus-adapter
    (monitoring with GPU autoscaling). Sorted by add-on name.
    """
    from mlinfra.k8s import fluid_objects, kueue, monitoring, prometheus_adapter, volcano

    ports: dict[str, int] = {}
    if cluster.scheduler == "kueue":
        ports["kueue"] = kueue.WEBHOOK_PORT
        ports["kueue-visibility"] = kueue.VISIBILITY_PORT
    elif cluster.scheduler == "volcano":
        ports["volcano"] = volcano.ADMISSION_PORT
    if any(cache.cluster == cluster.name for cache in env.caches):
        ports["fluid"] = fluid_objects.WEBHOOK_PORT
    if env.monitoring.enabled:
        ports["prometheus-operator"] = monitoring.OPERATOR_WEBHOOK_PORT
        if env.monitoring.autoscaling:
            ports["prometheus-adapter"] = prometheus_adapter.LISTEN_PORT
    return dict(sorted(ports.items()))
