"""The instance types of one EKS pool carry one GPU count, whether or not the pool names its `gpu`.

Sources:
- kubernetes/autoscaler cluster-autoscaler-1.35.2 cluster-autoscaler/cloudprovider/aws/README.md: the autoscaler
  takes "the CPU, memory, and GPU resources provided by an Auto Scaling Group" from its instance types and, with
  several, "only the first instance type found will be used"; "the instance types should have the same amount of
  RAM and number of CPU cores".
- karpenter.sh_nodepools CRD v1.14.1 `spec.template.spec.requirements`: every requirement must hold, so the
  `karpenter.k8s.aws/instance-gpu-count` requirement a pool gets (its GPUs per node) rules out each named type with
  another count.

Before, `gpu: L4-24GB` with g6.xlarge (1 GPU) and g6.12xlarge (4 GPUs) passed: the pool counted 1 GPU per node for
its quotas while a managed group could launch 4-GPU nodes, and its Karpenter NodePool could never use g6.12xlarge.
"""

from __future__ import annotations

from typing import Any

import pytest
from spec_assertions import AWS_NETWORK, DEPLOYERS, assert_refused

from mlinfra.aws import karpenter
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import resolve_cluster_pools


def env(pool: dict[str, Any]) -> dict[str, Any]:
    return {"environment": "dev", "clusters": [{
        "name": "eks", "cloud": "aws", "region": "us-east-1", "network": AWS_NETWORK, "endpoint": DEPLOYERS,
        "karpenter": {"ami_version": "v20260714"}, "pools": [{"name": "p", "max_nodes": 2, **pool}]}]}


@pytest.mark.parametrize("pool", [
    {"gpu": "L4-24GB", "instance_types": ["g6.xlarge", "g6.12xlarge"]},
    {"gpu": "L4-24GB", "instance_types": ["g6.xlarge", "g6.12xlarge"], "provisioner": "karpenter"},
    {"instance_types": ["g6.xlarge", "g6.12xlarge"]},
], ids=["managed, gpu named", "karpenter, gpu named", "gpu not named"])
def test_types_with_different_gpu_counts_are_refused(pool: dict[str, Any]) -> None:
    assert_refused(env(pool), "clusters[0].pools[0].instance_types", "same GPU model and count")


def test_types_with_one_gpu_count_all_stay_usable_by_karpenter() -> None:
    spec = load_environment(env({"gpu": "L4-24GB", "instance_types": ["g6.xlarge", "g6.2xlarge"],
                                 "provisioner": "karpenter"}))
    (pool,) = resolve_cluster_pools(spec.clusters[0])
    reqs = {r["key"]: r["values"] for r in karpenter.requirements(pool)}
    assert reqs["karpenter.k8s.aws/instance-gpu-count"] == ["1"]
    assert reqs["node.kubernetes.io/instance-type"] == ["g6.xlarge", "g6.2xlarge"]
