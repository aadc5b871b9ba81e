"""The team's workloads as plain manifests: a training Job queued by Kueue and an inference Deployment."""

from __future__ import annotations

from typing import Any

from mlinfra.spec.resolve import GPU_RESOURCE, GPU_TAINT, LABEL_POOL

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"

# Team namespaces enforce the restricted Pod Security Standard, so every container runs like this.
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
GPU_TOLERATION = {"key": GPU_TAINT["key"], "operator": "Equal", "value": GPU_TAINT["value"],
                  "effect": GPU_TAINT["effect"]}


def training_job(name: str, namespace: str, queue: str, image: str, gpus: int,
                 priority: str = "batch-normal") -> dict[str, Any]:
    """A Job Kueue admits: created suspended, labelled with the team's LocalQueue; Kueue unsuspends it.

    `queue` is the team's queue for one GPU class (whole GPUs, a MIG profile, shared GPUs): it holds only the
    flavors of that class, and Kueue adds the chosen flavor's node labels to the pods, so the Job only asks
    for `nvidia.com/gpu` and lands on the kind of GPU its queue stands for.
    """
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": {QUEUE_LABEL: queue, PRIORITY_LABEL: priority}},
        "spec": {
            "suspend": True,
            "parallelism": 1,
            "completions": 1,
            "backoffLimit": 2,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "tolerations": [GPU_TOLERATION],
                    "containers": [{
                        "name": "trainer",
                        "image": image,
                        "args": ["--config", "/etc/train/config.yaml"],
                        "resources": {
                            "requests": {"cpu": "4", "memory": "16Gi", GPU_RESOURCE: gpus},
                            "limits": {"memory": "16Gi", GPU_RESOURCE: gpus},
                        },
                        "securityContext": RESTRICTED_CONTAINER,
                    }],
                },
            },
        },
    }


def inference_deployment(name: str, namespace: str, image: str, pools: list[str]) -> dict[str, Any]:
    """A GPU inference server pinned to the pools of one GPU class (services are not queued: they run while
    they serve), so a one-slice server never takes a whole GPU, nor the other way round."""
    labels = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [
                            {"key": LABEL_POOL, "operator": "In", "values": sorted(pools)},
                        ]}],
                    }}},
                    "tolerations": [GPU_TOLERATION],
                    "containers": [{
                        "name": "server",
                        "image": image,
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        "resources": {
                            "requests": {"cpu": "2", "memory": "8Gi", GPU_RESOURCE: 1},
                            "limits": {"memory": "8Gi", GPU_RESOURCE: 1},
                        },
                        "securityContext": RESTRICTED_CONTAINER,
                    }],
                },
            },
        },
    }
