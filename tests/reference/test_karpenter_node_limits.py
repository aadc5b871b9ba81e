"""A Karpenter GPU NodePool stops at `max_nodes` in every MIG and sharing mode (issue 17, item 8).

How Karpenter counts a NodePool's usage against `spec.limits`, from the sources of the core that
aws/karpenter-provider-aws v1.14.1 builds on (its go.mod: sigs.k8s.io/karpenter v1.14.1-0.20260819221709-6e7eab7a0f48):

- kubernetes-sigs/karpenter@6e7eab7a pkg/controllers/state/statenode.go `Capacity`: an initialized node counts with
  its own `status.capacity` (what the device plugin advertises); a node not yet initialized with its NodeClaim's
  capacity, i.e. the instance type's, whose `nvidia.com/gpu` is the physical GPU count
  (aws/karpenter-provider-aws@v1.14.1 pkg/providers/instancetype/types.go) with the pool's NodeOverlay capacity
  merged over it (pkg/cloudprovider/types.go `ApplyCapacityOverlay`: `lo.Assign(i.Capacity, updatedCapacity)`, so
  an overlay's `nvidia.com/gpu` replaces the physical count); every node also counts 1 `nodes`.
- pkg/controllers/nodepool/counter/controller.go: `status.resources` is the sum of those capacities.
- pkg/controllers/provisioning/scheduling/scheduler.go `addToNewNodeClaim` / `filterByRemainingResources`: a new
  node is launched only if no `nodes` limit is exhausted and the instance type's capacity fits what remains of each
  limit.
- aws/karpenter-provider-aws@v1.14.1 website/content/en/docs/concepts/nodepools.md, "spec.limits": "The
  `limits.nodes` field constrains the maximum number of nodes during scaling operations or drift replacement."

The simulation below applies those rules to a pool's limits: nodes are launched one at a time (each must fit what
remains), and once they initialize they count with what they advertise. A bound that holds in both phases lets
exactly `max_nodes` in.
"""

from __future__ import annotations

from typing import Any

import pytest
from spec_assertions import AWS_NETWORK, DEPLOYERS

from mlinfra import catalog
from mlinfra.aws import karpenter
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import GPU_RESOURCE, ResolvedPool, resolve_cluster_pools

NODES = "nodes"
# Far more nodes than any pool below asks for: a limit that never binds shows as this many.
RUNAWAY = 50


def pool_of(pool: dict[str, Any], *others: dict[str, Any]) -> ResolvedPool:
    env = load_environment({"environment": "dev", "clusters": [{
        "name": "eks", "cloud": "aws", "region": "us-east-1", "network": AWS_NETWORK, "endpoint": DEPLOYERS,
        "karpenter": {"ami_version": "v20260714"}, "pools": [pool, *others]}]})
    return resolve_cluster_pools(env.clusters[0])[0]


def fits(capacity: dict[str, int], usage: dict[str, int], limits: dict[str, int]) -> bool:
    """scheduler.go: no exhausted `nodes` limit, and the instance type fits every remaining limit."""
    if NODES in limits and limits[NODES] - usage.get(NODES, 0) <= 0:
        return False
    return all(capacity.get(k, 0) <= v - usage.get(k, 0) for k, v in limits.items())


def admitted(pool: ResolvedPool, initialized: bool) -> int:
    """How many nodes Karpenter launches for an endless backlog: with every launched node still initializing
    (counted at the instance type's capacity), or each initialized before the next is launched (counted at what
    its device plugin advertises)."""
    limits = {k: int(v) for k, v in karpenter.node_pool_limits(pool).items()}
    instance = catalog.AWS_INSTANCE_TYPES[pool.instance_types[0]]
    launched = {GPU_RESOURCE: instance.gpu_count, **karpenter.overlay_capacity(pool), NODES: 1}
    advertised = {**pool.resources_per_node(), NODES: 1}
    counted = advertised if initialized else launched
    usage: dict[str, int] = {}
    n = 0
    while n < RUNAWAY and fits(launched, usage, limits):
        n += 1
        for k, v in counted.items():
            usage[k] = usage.get(k, 0) + v
    return n


L4 = {"gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "provisioner": "karpenter", "max_nodes": 3}
H100 = {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "provisioner": "karpenter", "max_nodes": 4}
MIXED = {"name": "mixed", **H100, "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 1}}}

CASES = [
    ("whole GPUs", {"name": "p", **L4}, []),
    ("time-slicing, nvidia.com/gpu x4", {"name": "ts", **L4, "time_slicing": {"replicas": 4}}, []),
    ("time-slicing renamed to nvidia.com/gpu.shared",
     {"name": "tsr", **L4, "time_slicing": {"replicas": 4, "rename_by_default": True}}, []),
    ("MPS, nvidia.com/gpu x2", {"name": "mps", **L4, "mps": {"replicas": 2}}, []),
    ("single MIG, 2 slices per GPU as nvidia.com/gpu",
     {"name": "mig", **H100, "mig": {"profiles": {"3g.40gb": 2}}}, []),
    ("mixed MIG, no nvidia.com/gpu", MIXED, []),
    ("single-profile MIG pool in a mixed cluster", {"name": "mig7", **H100, "mig": {"profiles": {"1g.10gb": 7}}},
     [MIXED]),
]


@pytest.mark.parametrize("initialized", [False, True], ids=["initializing", "initialized"])
@pytest.mark.parametrize(("case", "pool", "others"), CASES, ids=[c[0] for c in CASES])
def test_limits_stop_the_pool_at_max_nodes(case: str, pool: dict[str, Any], others: list[dict[str, Any]],
                                           initialized: bool) -> None:
    resolved = pool_of(pool, *others)
    assert admitted(resolved, initialized) == pool["max_nodes"], (case, karpenter.node_pool_limits(resolved),
                                                                  resolved.resources_per_node())


def test_limits_satisfy_the_nodepool_schema(upstream) -> None:
    """The CRD's `spec.limits` takes any resource quantity (`nodes` included; karpenter.sh_nodepools v1.14.1)."""
    import re

    import yaml

    crd = yaml.safe_load((upstream / "karpenter" / "v1.14.1" / "karpenter.sh_nodepools.yaml").read_text())
    limits = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["limits"]
    pattern = re.compile(limits["additionalProperties"]["pattern"])
    assert "limits.nodes" in limits["description"]
    for value in karpenter.node_pool_limits(pool_of({"name": "p", **L4})).values():
        assert pattern.match(value)
