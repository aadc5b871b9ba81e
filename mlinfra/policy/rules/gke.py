"""GKE rules over pulumi-gcp clusters and node pools: private nodes, workload identity, shielded and managed nodes."""

from __future__ import annotations

from collections.abc import Iterator

from mlinfra.policy.model import Record, dig, rule

GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"


def _node_config(record: Record) -> dict:
    return dig(record, "inputs", "nodeConfig") or {}


@rule(
    "MLI-GKE-001",
    "high",
    "Nodes are private",
    "Nodes without external IPs cannot be reached from the internet; egress goes through Cloud NAT.",
    "CIS GKE Benchmark v1.6 5.6.5",
    types=(GKE_CLUSTER, GKE_NODE_POOL),
)
def private_nodes(record: Record) -> Iterator[str]:
    """Clusters enable private nodes; a node pool may not turn them off."""
    inputs = record.get("inputs") or {}
    if record.get("type") == GKE_CLUSTER:
        if dig(inputs, "privateClusterConfig", "enablePrivateNodes") is not True and (
            dig(inputs, "networkConfig", "enablePrivateNodes") is not True
        ):
            yield "privateClusterConfig.enablePrivateNodes must be true"
    elif dig(inputs, "networkConfig", "enablePrivateNodes") is False:
        yield "networkConfig.enablePrivateNodes is false on this node pool"


@rule(
    "MLI-GKE-002",
    "high",
    "Workload identity is on",
    "Pods then get their own Google identity instead of the node's, and the node metadata server stays hidden.",
    "CIS GKE Benchmark v1.6 5.2.2 and 5.4.2",
    types=(GKE_CLUSTER, GKE_NODE_POOL),
)
def workload_identity(record: Record) -> Iterator[str]:
    """Clusters set a workload pool; node pools run the GKE metadata server."""
    inputs = record.get("inputs") or {}
    if record.get("type") == GKE_CLUSTER:
        if not dig(inputs, "workloadIdentityConfig", "workloadPool"):
            yield "workloadIdentityConfig.workloadPool must be set (<project>.svc.id.goog)"
    else:
        mode = dig(_node_config(record), "workloadMetadataConfig", "mode")
        if mode != "GKE_METADATA":
            yield f"nodeConfig.workloadMetadataConfig.mode must be GKE_METADATA (got {mode!r})"


@rule(
    "MLI-GKE-003",
    "medium",
    "Shielded nodes with integrity monitoring",
    "Shielded nodes prove their identity to the control plane; integrity monitoring flags a tampered boot chain.",
    "CIS GKE Benchmark v1.6 5.5.5 and 5.5.6",
    types=(GKE_CLUSTER, GKE_NODE_POOL),
)
def shielded_nodes(record: Record) -> Iterator[str]:
    """Clusters enable shielded nodes; pools keep integrity monitoring on (secure boot is the driver's call)."""
    inputs = record.get("inputs") or {}
    if record.get("type") == GKE_CLUSTER:
        if inputs.get("enableShieldedNodes") is not True:
            yield f"enableShieldedNodes must be true (got {inputs.get('enableShieldedNodes')!r})"
    else:
        monitoring = dig(_node_config(record), "shieldedInstanceConfig", "enableIntegrityMonitoring")
        if monitoring is not True:
            yield f"nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring must be true (got {monitoring!r})"


@rule(
    "MLI-GKE-004",
    "medium",
    "Node auto-repair and auto-upgrade are on",
    "Unhealthy GPU nodes are replaced and nodes follow the control plane's security patches.",
    "CIS GKE Benchmark v1.6 5.5.2 and 5.5.3",
    types=(GKE_NODE_POOL,),
)
def auto_repair_upgrade(record: Record) -> Iterator[str]:
    """`management.autoRepair` and `management.autoUpgrade` are both explicitly true."""
    management = dig(record, "inputs", "management") or {}
    for key in ("autoRepair", "autoUpgrade"):
        if management.get(key) is not True:
            yield f"management.{key} must be true (got {management.get(key)!r})"


@rule(
    "MLI-GKE-005",
    "high",
    "Nodes do not run as the Compute Engine default service account",
    "The default account has Editor on the project; with the cloud-platform scope every pod on the node has it too.",
    "CIS GKE Benchmark v1.6 5.2.1",
    types=(GKE_NODE_POOL, GKE_CLUSTER),
)
def no_default_service_account(record: Record) -> Iterator[str]:
    """Node pools (and a cluster's own default pool, unless removed) name a dedicated service account."""
    inputs = record.get("inputs") or {}
    own_pool = inputs.get("removeDefaultNodePool") is not True and "nodeConfig" in inputs
    if record.get("type") == GKE_CLUSTER and not own_pool:
        return
    account = _node_config(record).get("serviceAccount")
    if not account or account == "default" or str(account).endswith("-compute@developer.gserviceaccount.com"):
        yield f"nodeConfig.serviceAccount must be a dedicated least-privilege account (got {account!r})"
