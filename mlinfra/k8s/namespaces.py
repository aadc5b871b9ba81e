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
