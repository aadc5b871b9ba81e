"""Spot training on EKS: the Platform with a Karpenter spot pool, and a checkpointing Job admitted by Kueue."""

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.platform import Platform
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import GPU_RESOURCE, GPU_TAINT

config = pulumi.Config()
spec = load_environment(
    pulumi.Config("mlinfra").require_object("platform"), on_warning=lambda p: pulumi.log.warn(str(p))
)
platform = Platform("platform", spec)
ctx = platform.contexts["eks"]
team = spec.scheduling.teams[0]

name = f"{team.name}-pretrain"
k8s.batch.v1.Job(
    name,
    metadata={
        "name": name,
        "namespace": team.namespace_name,
        # Kueue admits the Job when the team's quota allows; until then it stays suspended and costs nothing.
        "labels": {"kueue.x-k8s.io/queue-name": team.name, "kueue.x-k8s.io/priority-class": "batch-low"},
    },
    spec={
        "suspend": True,
        # A spot reclaim kills the pod; the job resumes from its last checkpoint, so allow several retries
        # and do not count node-level disruptions against them.
        "backoffLimit": 6,
        "podFailurePolicy": {
            "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
        },
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 90,
                "tolerations": [{"key": GPU_TAINT["key"], "operator": "Equal", "value": GPU_TAINT["value"],
                                 "effect": GPU_TAINT["effect"]}],
                "containers": [{
                    "name": "trainer",
                    "image": config.require("image"),
                    "args": ["--resume-from", "s3://acme-research-checkpoints/pretrain/latest"],
                    "resources": {
                        "requests": {"cpu": "32", "memory": "256Gi", GPU_RESOURCE: config.require_int("gpus")},
                        "limits": {"memory": "256Gi", GPU_RESOURCE: config.require_int("gpus")},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                }],
            },
        },
    },
    opts=pulumi.ResourceOptions(provider=ctx.k8s_provider, parent=ctx.parent, depends_on=list(ctx.addons.values())),
)
