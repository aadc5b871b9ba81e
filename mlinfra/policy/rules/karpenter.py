"""Karpenter rules: spot pools need interruption handling; EC2NodeClasses keep IMDSv2, encryption, private IPs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlinfra.policy.model import Record, dig, rule, truthy

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CAPACITY_TYPE = "karpenter.sh/capacity-type"


def allows_spot(nodepool: Mapping[str, Any]) -> bool:
    """True when a NodePool's requirements let Karpenter launch spot capacity.

    Karpenter's default without a capacity-type requirement is on-demand, so only an explicit In/NotIn/Exists
    that admits `spot` counts.
    """
    for req in dig(nodepool, "spec", "template", "spec", "requirements") or []:
        if req.get("key") != CAPACITY_TYPE:
            continue
        op, values = req.get("operator"), req.get("values") or []
        if (op == "In" and "spot" in values) or (op == "NotIn" and "spot" not in values) or op == "Exists":
            return True
    return False


def _cluster(record: Record) -> str:
    provider = str(record.get("provider") or "")
    return provider[: -len("-k8s")] if provider.endswith("-k8s") else provider


def _is_karpenter_release(record: Record) -> bool:
    chart = str(dig(record, "inputs", "chart") or "")
    # The controller's chart, not `karpenter-crd` (its CRDs, released beside it with no settings).
    return record.get("type") == HELM_RELEASE and chart.split("/")[-1] == "karpenter"


@rule(
    "MLI-KARP-001",
    "high",
    "Spot NodePools have interruption handling",
    "Without the SQS interruption queue Karpenter learns of a spot reclaim only when the node vanishes, "
    "so GPU jobs die without the two-minute drain.",
    "Karpenter v1 docs (Interruption: settings.interruptionQueue); AWS EKS Best Practices (Karpenter, spot)",
    stack=True,
)
def spot_interruption(records: list[Record]) -> Iterator[tuple[Record, str]]:
    """Every spot-capable NodePool's cluster has a Karpenter release with `settings.interruptionQueue` set."""
    queues: dict[str, bool] = {}
    for r in records:
        if _is_karpenter_release(r):
            queue = dig(r, "inputs", "values", "settings", "interruptionQueue")
            queues[_cluster(r)] = queues.get(_cluster(r), False) or bool(queue)
    for r in records:
        inputs = r.get("inputs") or {}
        if not str(r.get("type", "")).startswith("kubernetes:") or inputs.get("kind") != "NodePool":
            continue
        if not str(inputs.get("apiVersion", "")).startswith("karpenter.sh/") or not allows_spot(inputs):
            continue
        cluster = _cluster(r)
        if cluster not in queues:
            yield r, f"spot NodePool but no Karpenter Helm release in cluster {cluster!r} to handle interruptions"
        elif not queues[cluster]:
            yield r, f"spot NodePool but the Karpenter release in {cluster!r} sets no settings.interruptionQueue"


@rule(
    "MLI-KARP-002",
    "high",
    "Karpenter EC2NodeClasses keep IMDSv2, encrypted volumes and private IPs",
    "Karpenter-launched nodes must be as locked down as managed node groups; its defaults are safe, "
    "overrides may not be.",
    "CIS AWS Foundations Benchmark v3.0 5.6 and 2.2.1; CIS Amazon EKS Benchmark v1.5 5.4.3",
    kinds=("EC2NodeClass",),
)
def ec2nodeclass_hardened(record: Record) -> Iterator[str]:
    """Explicit settings must not weaken Karpenter's defaults (IMDSv2 required, hop limit 1)."""
    spec = dig(record, "inputs", "spec") or {}
    metadata = spec.get("metadataOptions") or {}
    if metadata.get("httpTokens", "required") != "required":
        yield f"spec.metadataOptions.httpTokens must be 'required' (got {metadata.get('httpTokens')!r})"
    hops = metadata.get("httpPutResponseHopLimit", 1)
    if hops != 1:
        yield f"spec.metadataOptions.httpPutResponseHopLimit must be 1 (got {hops!r})"
    for i, mapping in enumerate(spec.get("blockDeviceMappings") or []):
        ebs = mapping.get("ebs") or {}
        if not truthy(ebs.get("encrypted")):
            yield f"spec.blockDeviceMappings[{i}].ebs.encrypted must be true"
    if truthy(spec.get("associatePublicIPAddress")):
        yield "spec.associatePublicIPAddress must not be true"
