"""Record builders for the rule tables: secure defaults, changed one field at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WAIVERS = ROOT / "policy-pack" / "waivers.yaml"


def stack_names() -> list[str]:
    """Every stack with a config file under stacks/ (dev, staging, prod as they land)."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def merge(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `base` with dotted-path changes applied (a value of DELETE removes the key)."""
    out = copy.deepcopy(base)
    for dotted, value in changes.items():
        node = out
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return out


DELETE = object()


def record(type_: str, inputs: dict[str, Any], name: str = "r", provider: str | None = None) -> dict[str, Any]:
    """A resource record as `resources.json` holds it."""
    return {"type": type_, "name": name, "parent": None, "provider": provider, "inputs": inputs}


LAUNCH_TEMPLATE = {
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 100}}],
    "networkInterfaces": [{"associatePublicIpAddress": "false", "deviceIndex": 0}],
}
EKS_CLUSTER = {
    "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False, "subnetIds": ["subnet-1"]},
    "encryptionConfig": {"provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}, "resources": ["secrets"]},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
}
GKE_CLUSTER = {
    "privateClusterConfig": {"enablePrivateNodes": True, "masterIpv4CidrBlock": "172.16.0.0/28"},
    "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"},
    "enableShieldedNodes": True,
    "removeDefaultNodePool": True,
}
GKE_NODE_POOL = {
    "management": {"autoRepair": True, "autoUpgrade": True},
    "nodeConfig": {
        "serviceAccount": "gke-nodes@p.iam.gserviceaccount.com",
        "shieldedInstanceConfig": {"enableIntegrityMonitoring": True, "enableSecureBoot": True},
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
    },
}
CONTAINER = {
    "name": "app",
    "image": "registry.example.com/app:1.2.3",
    "securityContext": {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    },
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
}


def deployment(container: dict[str, Any] | None = None, namespace: str = "research", **pod: Any) -> dict[str, Any]:
    """A Deployment manifest with one container and optional pod-spec fields."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [container or copy.deepcopy(CONTAINER)], **pod}}},
    }


def container(**changes: Any) -> dict[str, Any]:
    """The hardened container with some fields changed."""
    return merge(CONTAINER, **changes)


def namespace(name: str, enforce: str) -> dict[str, Any]:
    """A Namespace manifest enforcing a Pod Security level."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": enforce}}}


def helm(chart: str, version: Any, values: dict[str, Any] | None = None, provider: str = "eks-k8s",
         name: str = "rel") -> dict[str, Any]:
    """A Helm release record."""
    return record("kubernetes:helm.sh/v3:Release",
                  {"chart": chart, "version": version, "values": values or {}}, name, provider)


def nodepool(capacity: list[str] | None, operator: str = "In", provider: str = "eks-k8s") -> dict[str, Any]:
    """A Karpenter NodePool record; `capacity` None leaves the capacity-type requirement out."""
    requirements = [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p5.48xlarge"]}]
    if capacity is not None:
        requirements.append({"key": "karpenter.sh/capacity-type", "operator": operator, "values": capacity})
    manifest = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "gpu"},
                "spec": {"template": {"spec": {"requirements": requirements}}}}
    return record("kubernetes:karpenter.sh/v1:NodePool", manifest, "gpu-nodepool", provider)
