"""A team stack: read the platform stack's outputs, then run the team's training and inference work there."""

import pulumi
import pulumi_kubernetes as k8s
from workloads import inference_deployment, training_job

from mlinfra.k8s.gpu_hpa import GpuUtilizationHpa, GpuUtilizationHpaArgs

config = pulumi.Config()
team = config.require("team")
# Offline, `mlinfra render --project examples/team-stack --stack dev --platform-render build/dev` answers this
# reference from the outputs.json of a render of the platform stack (`mlinfra render --stack dev`).
platform = pulumi.StackReference(config.require("platformStack"))
# The kind of GPU each workload means: `gpu` (whole GPUs), `mig-1g-10gb` (one MIG slice), `shared`
# (a time-sliced GPU), ... The platform gives the team one queue per class, so the class is never guessed.
training_class = config.get("trainingGpuClass") or "gpu"
inference_class = config.get("inferenceGpuClass") or "gpu"

# The platform created the team's namespace and its queues; read their names rather than guess them.
info = platform.require_output("teams").apply(lambda teams: teams[team])
namespace = info.apply(lambda t: t["namespace"])


def _cluster(t: dict) -> str:
    # A team on several clusters says which one this stack deploys to (`cluster`).
    return config.get("cluster") or next(iter(t["clusters"]))


where = info.apply(lambda t: t["clusters"][_cluster(t)])
queue = where.apply(lambda c: c["queues"][training_class])
inference_pools = where.apply(lambda c: c["gpu_classes"][inference_class])
name = f"{team}-serve"
# Arguments are checked when they are built: build them before registering any workload, so a metric the
# platform's prometheus-adapter does not serve refuses the stack before the Job and Deployment exist.
hpa_args = GpuUtilizationHpaArgs(
    deployment=name,
    namespace=namespace,
    max_replicas=config.get_int("inferenceMaxReplicas") or 4,
    target_utilization_percent=config.get_int("targetGpuUtilization") or 70,
)
# `clusters` is a secret output (it carries the kubeconfig), so the kubeconfig stays secret here too.
kubeconfig = pulumi.Output.all(platform.require_output("clusters"), info).apply(
    lambda args: args[0][_cluster(args[1])]["kubeconfig"]
)
provider = k8s.Provider("team-k8s", kubeconfig=kubeconfig)
opts = pulumi.ResourceOptions(provider=provider)


def register(kind_cls, name: str, manifest: pulumi.Output) -> pulumi.CustomResource:
    """Register a manifest built from Outputs with its typed pulumi-kubernetes class."""
    return kind_cls(
        name,
        metadata=manifest.apply(lambda m: m["metadata"]),
        spec=manifest.apply(lambda m: m["spec"]),
        opts=opts,
    )


job = pulumi.Output.all(namespace, queue).apply(
    lambda a: training_job(f"{team}-train", a[0], a[1], config.require("trainingImage"),
                           config.require_int("trainingGpus"))
)
register(k8s.batch.v1.Job, f"{team}-train", job)

deployment = register(
    k8s.apps.v1.Deployment,
    name,
    pulumi.Output.all(namespace, inference_pools).apply(
        lambda a: inference_deployment(name, a[0], config.require("inferenceImage"), a[1])
    ),
)
# mlinfra's GPU HPA checks that the platform's prometheus-adapter serves the metric it scales on.
GpuUtilizationHpa(
    name,
    hpa_args,
    pulumi.ResourceOptions(providers={"kubernetes": provider}, depends_on=[deployment]),
)

pulumi.export("namespace", namespace)
pulumi.export("queue", queue)
