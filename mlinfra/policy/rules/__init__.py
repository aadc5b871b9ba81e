"""The rule modules; importing this package registers every rule in `mlinfra.policy.model.REGISTRY`."""

from mlinfra.policy.rules import eks, gke, graph, helm, karpenter, workloads  # noqa: F401
