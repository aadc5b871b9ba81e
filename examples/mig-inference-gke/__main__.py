"""MIG inference on GKE: the Platform component in your own project, plus a model server on its MIG slices."""

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.k8s.gpu_hpa import GpuUtilizationHpa, GpuUtilizationHpaArgs
from mlinfra.platform import Platform
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import GPU_RESOURCE, GPU_TAINT, LABEL_POOL

config = pulumi.Config()
spec = load_environment(
    pulumi.Config("mlinfra").require_object("platform"), on_warning=lambda p: pulumi.log.warn(str(p))
)
platform = Platform("platform", spec)
ctx = platform.contexts["gke"]
pool = next(p for p in ctx.pools if p.name == "h100-mig")
# Under the single MIG strategy every slice is advertised as one `nvidia.com/gpu`: the server asks for one.
assert ctx.mig_strategy == "single", "this example expects one MIG profile per GPU"

name, namespace = "llm-server", "serving"
labels = {"app.kubernetes.io/name": name}
opts = pulumi.ResourceOptions(provider=ctx.k8s_provider, parent=ctx.parent, depends_on=list(ctx.addons.values()))
deployment = k8s.apps.v1.Deployment(
    name,
    metadata={"name": name, "namespace": namespace, "labels": labels},
    spec={
        "replicas": 1,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "nodeSelector": {LABEL_POOL: pool.name},
                "tolerations": [{"key": GPU_TAINT["key"], "operator": "Equal", "value": GPU_TAINT["value"],
                                 "effect": GPU_TAINT["effect"]}],
                "containers": [{
                    "name": "server",
                    "image": config.require("image"),
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {
                        "requests": {"cpu": "2", "memory": "8Gi", GPU_RESOURCE: 1},
                        "limits": {"memory": "8Gi", GPU_RESOURCE: 1},
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
    opts=opts,
)
# One replica per slice at most: 7 slices per GPU x max nodes.
max_replicas = min(config.require_int("maxReplicas"), pool.max_resources()[GPU_RESOURCE])
GpuUtilizationHpa(
    name,
    GpuUtilizationHpaArgs(deployment=name, namespace=namespace, max_replicas=max_replicas,
                          target_utilization_percent=70),
    pulumi.ResourceOptions(parent=ctx.parent, providers={"kubernetes": ctx.k8s_provider}, depends_on=[deployment]),
)
pulumi.export("slices", pool.max_resources())
