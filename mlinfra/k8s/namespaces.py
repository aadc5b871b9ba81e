"""Namespaces mlinfra creates: each with an explicit Pod Security level, never a Helm-made bare one."""

from __future__ import annotations

from typing import Any, Literal

PodSecurity = Literal["privileged", "baseline", "restricted"]
PSA = "pod-security.kubernetes.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": "mlinfra"}


def namespace_manifest(name: str, pod_security: PodSecurity, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Namespace that enforces `pod_security`.

    Below privileged, `warn` and `audit` stay at restricted, so what would break under the strictest level
    shows up in kubectl output and the audit log before anyone tightens it. A privileged namespace (node
    agents that mount host paths) warns and audits at privileged too: the warnings would only be noise.
    """
    report = "privileged" if pod_security == "privileged" else "restricted"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                f"{PSA}/enforce": pod_security,
                f"{PSA}/enforce-version": "latest",
                f"{PSA}/warn": report,
                f"{PSA}/audit": report,
                **MANAGED_BY,
                **(labels or {}),
            },
        },
    }


# The priority classes GKE reserves: outside kube-system a pod may use them only in a namespace holding a
# ResourceQuota scoped to them (GKE ships such a quota in kube-system, so Kubernetes' "limit priority class
# consumption" admission applies cluster-wide). Sources: NVIDIA's GPU operator guide for GKE;
# NVIDIA/gpu-operator#660; NVIDIA/aicr#915 and PR #921; kubernetes.io "Resource Quotas: limit priority class
# consumption by default".
CRITICAL_PRIORITY_CLASSES = ("system-node-critical", "system-cluster-critical")
CRITICAL_POD_QUOTA = "mlinfra-critical-pods"
# The quota only has to admit what the namespace's DaemonSets and controllers run, never to limit it:
# NVIDIA/aicr#921 allows 32 pods per node (at least 32); NVIDIA's GKE guide uses 100 in all. Both are kept.
CRITICAL_PODS_PER_NODE = 32
CRITICAL_PODS_MIN = 100


def gates_critical_priority(cloud: str) -> bool:
    """Whether the cloud admits `system-*-critical` pods outside kube-system only under a scoped quota: GKE.

    EKS ships no such quota, so its namespaces need none.
    """
    return cloud == "gcp"


def critical_pods_quota(namespace: str, nodes: int) -> dict[str, Any]:
    """A ResourceQuota that lets pods of the critical priority classes be admitted in `namespace`.

    `nodes`: how many nodes the namespace's DaemonSets can run on (the pools' `max_nodes` summed); the pod
    limit is `CRITICAL_PODS_PER_NODE` per node, at least `CRITICAL_PODS_MIN`.
    """
    pods = max(CRITICAL_PODS_MIN, CRITICAL_PODS_PER_NODE * nodes)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": CRITICAL_POD_QUOTA, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "hard": {"pods": str(pods)},
            "scopeSelector": {
                "matchExpressions": [
                    {"operator": "In", "scopeName": "PriorityClass", "values": list(CRITICAL_PRIORITY_CLASSES)}
                ]
            },
        },
    }
