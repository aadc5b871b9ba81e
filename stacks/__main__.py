"""The platform stack: read `mlinfra:platform`, check it, create the Platform, export what team stacks need."""

import pulumi

from mlinfra.k8s.scheduling import queue_name
from mlinfra.platform import Platform
from mlinfra.spec import load_environment

spec = load_environment(
    pulumi.Config("mlinfra").require_object("platform"), on_warning=lambda p: pulumi.log.warn(str(p))
)
platform = Platform("platform", spec)
pulumi.export("environment", spec.environment)
pulumi.export("clusters", platform.outputs["clusters"])
# Team stacks read these through a StackReference: where each team's work goes. The platform creates the
# namespace and the queue; `queue` is what workloads name in `kueue.x-k8s.io/queue-name` (or Volcano's queue).
pulumi.export(
    "teams",
    {
        t.name: {
            "cluster": t.cluster,
            "namespace": t.namespace_name,
            "queue": queue_name(t),
            "scheduler": spec.cluster(t.cluster).scheduler,  # type: ignore[union-attr]
        }
        for t in spec.scheduling.teams
    },
)
