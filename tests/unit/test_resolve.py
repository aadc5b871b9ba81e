"""The pool contract: labels, taints and extended resources, the same on both clouds."""

from __future__ import annotations

import pytest

from mlinfra.spec import load_environment
from mlinfra.spec.resolve import GPU_TAINT, cluster_mig_strategy, resolve_cluster_pools


def _cluster(cloud, *pools):
    c = {"name": "c", "cloud": cloud, "region": "r", "pools": list(pools)}
    if cloud == "gcp":
        c["project"] = "p"
    return load_environment({"environment": "t", "clusters": [c]}).clusters[0]


@pytest.mark.parametrize(
    ("pool", "strategy", "resources", "labels"),
    [
        ({"name": "whole", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2}, "none", {"nvidia.com/gpu": 8}, {}),
        ({"name": "mig", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2, "mig": {"profiles": {"1g.10gb": 7}}}, "single",
         {"nvidia.com/gpu": 56}, {"nvidia.com/mig.config": "all-1g.10gb"}),
        ({"name": "mixed", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2, "mig": {"profiles": {"3g.40gb": 1, "1g.10gb": 4}}},
         "mixed", {"nvidia.com/mig-3g.40gb": 8, "nvidia.com/mig-1g.10gb": 32},
         {"nvidia.com/mig.config": "mlinfra-mixed"}),
        ({"name": "ts", "gpu": "L4-24GB", "gpus_per_node": 4, "max_nodes": 2, "time_slicing": {"replicas": 4}},
         "none", {"nvidia.com/gpu": 16}, {"nvidia.com/device-plugin.config": "time-slicing-4"}),
        ({"name": "mps", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 2,
          "mps": {"replicas": 3, "rename_by_default": True}},
         "none", {"nvidia.com/gpu.shared": 3}, {"nvidia.com/device-plugin.config": "mps-3-renamed"}),
    ],
)
def test_aws_pool_resources_and_labels(pool, strategy, resources, labels):
    cluster = _cluster("aws", pool)
    (resolved,) = resolve_cluster_pools(cluster)
    assert cluster_mig_strategy(cluster) == strategy
    assert resolved.resources_per_node() == resources
    assert resolved.max_resources() == {k: v * 2 for k, v in resources.items()}
    assert resolved.labels == {"mlinfra.io/pool": pool["name"], "mlinfra.io/gpu-model": resolved.gpu.name,
                               "mlinfra.io/capacity-type": "on-demand", **labels}
    assert resolved.taints[0] == GPU_TAINT


def test_the_same_pool_gets_the_same_kubernetes_names_on_both_clouds():
    pool = {"name": "shared", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 3, "spot": True,
            "time_slicing": {"replicas": 4}, "labels": {"team": "vision"},
            "taints": [{"key": "dedicated", "value": "vision"}]}
    (aws,) = resolve_cluster_pools(_cluster("aws", pool))
    (gcp,) = resolve_cluster_pools(_cluster("gcp", pool))
    assert aws.labels == gcp.labels
    assert aws.taints == gcp.taints
    assert aws.resources_per_node() == gcp.resources_per_node() == {"nvidia.com/gpu": 4}
    # Spot pools without explicit types take every size with the GPU and count, smallest first.
    assert aws.instance_types == ("g6.xlarge", "g6.2xlarge", "g6.4xlarge", "gr6.4xlarge", "g6.8xlarge",
                                  "gr6.8xlarge", "g6.16xlarge")
    assert gcp.machine_type == "g2-standard-4"


def test_gke_mig_is_always_the_single_strategy():
    pool = {"name": "m", "gpu": "H100-80GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 7}}}
    cluster = _cluster("gcp", pool)
    (resolved,) = resolve_cluster_pools(cluster)
    assert cluster_mig_strategy(cluster) == "single"
    # Without gpus_per_node the smallest machine with the GPU is chosen: a3-highgpu-1g, one H100.
    assert resolved.machine_type == "a3-highgpu-1g"
    assert resolved.resources_per_node() == {"nvidia.com/gpu": 7}
    assert "nvidia.com/mig.config" not in resolved.labels


def test_time_slicing_on_mig_devices_multiplies_each_mig_resource():
    c = {"name": "c", "cloud": "aws", "region": "r", "gpu_operator": {"time_slicing_on_mig": True},
         "pools": [{"name": "m", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 1,
                    "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 2}},
                    "time_slicing": {"replicas": 2, "rename_by_default": True}}]}
    (resolved,) = resolve_cluster_pools(load_environment({"environment": "t", "clusters": [c]}).clusters[0])
    assert resolved.resources_per_node() == {"nvidia.com/mig-2g.20gb.shared": 32, "nvidia.com/mig-3g.40gb.shared": 16}


def test_mig_layouts_are_bounded_by_slices_not_by_rounded_memory():
    # 2 x 3g.71gb names 142 GB on a 141 GB H200; mig-parted accepts it, and so must the checks.
    c = {"name": "c", "cloud": "aws", "region": "r",
         "pools": [{"name": "m", "gpu": "H200-141GB", "max_nodes": 1, "mig": {"profiles": {"3g.71gb": 2}}}]}
    assert load_environment({"environment": "t", "clusters": [c]}).clusters[0].pools[0].mig is not None
