"""The pool contract: labels, taints and extended resources, the same on both clouds."""

from __future__ import annotations

import pytest
import yaml
from spec_assertions import AWS_NETWORK, DEPLOYERS, EKS_REACHABLE

from mlinfra.offline.render import render_environment
from mlinfra.spec import load_environment
from mlinfra.spec.resolve import GPU_TAINT, cluster_mig_strategy, gpu_resource_taint, resolve_cluster_pools


def _cluster(cloud, *pools, **cluster):
    region = "us-east-1" if cloud == "aws" else "us-central1"
    c = {"name": "c", "cloud": cloud, "endpoint": DEPLOYERS, "region": region, "pools": list(pools), **cluster}
    if cloud == "gcp":
        # A region whose zones offer the catalog's GPU machine types (the GKE checks look them up).
        c["project"], c["region"] = "p", "us-central1"
    else:
        c.setdefault("network", AWS_NETWORK)
    return load_environment({"environment": "t", "clusters": [c]}).clusters[0]


@pytest.mark.parametrize(
    ("pool", "strategy", "resources", "labels"),
    [
        ({"name": "whole", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2}, "none", {"nvidia.com/gpu": 8}, {}),
        ({"name": "mig", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2,
          "mig": {"profiles": {"1g.10gb": 7}}}, "single",
         {"nvidia.com/gpu": 56}, {"nvidia.com/mig.config": "all-1g.10gb"}),
        ({"name": "mixed", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2,
          "mig": {"profiles": {"3g.40gb": 1, "1g.10gb": 4}}},
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
    (gcp_operator,) = resolve_cluster_pools(_cluster("gcp", pool, gpu_operator={"driver": "operator"}))
    (gcp_native,) = resolve_cluster_pools(_cluster("gcp", pool))
    # The operator's device plugin on both clouds: the same labels, config names and resources.
    assert aws.labels == gcp_operator.labels
    # GKE's device plugin shares the GPU from the node pool's gpu_sharing_config: no operator config label.
    assert {k: v for k, v in aws.labels.items() if k != "nvidia.com/device-plugin.config"} == gcp_native.labels
    assert aws.taints == gcp_operator.taints == gcp_native.taints
    assert aws.resources_per_node() == gcp_operator.resources_per_node() == gcp_native.resources_per_node() == {
        "nvidia.com/gpu": 4}
    # Spot pools without explicit types take every size with the GPU and count, smallest first.
    assert aws.instance_types == ("g6.xlarge", "g6.2xlarge", "g6.4xlarge", "gr6.4xlarge", "g6.8xlarge",
                                  "gr6.8xlarge", "g6.16xlarge")
    assert gcp_native.machine_type == gcp_operator.machine_type == "g2-standard-4"


def test_gke_mig_is_always_the_single_strategy():
    pool = {"name": "m", "gpu": "H100-80GB", "max_nodes": 1, "mig": {"profiles": {"1g.10gb": 7}}}
    cluster = _cluster("gcp", pool)
    (resolved,) = resolve_cluster_pools(cluster)
    assert cluster_mig_strategy(cluster) == "single"
    # Without gpus_per_node the smallest machine with the GPU that is offered on demand is chosen:
    # a3-highgpu-8g (a3-highgpu-1g/2g/4g come as Spot or Flex-start only).
    assert resolved.machine_type == "a3-highgpu-8g"
    assert resolved.resources_per_node() == {"nvidia.com/gpu": 56}
    assert "nvidia.com/mig.config" not in resolved.labels
    (spot,) = resolve_cluster_pools(_cluster("gcp", {**pool, "spot": True}))
    assert spot.machine_type == "a3-highgpu-1g"
    assert spot.resources_per_node() == {"nvidia.com/gpu": 7}


MIG_1G = {"name": "mig", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2, "mig": {"profiles": {"1g.10gb": 7}}}
MIG_MIX = {"name": "mix", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 2,
           "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 2}}}
TS = {"name": "ts", "gpu": "L4-24GB", "gpus_per_node": 4, "max_nodes": 2, "time_slicing": {"replicas": 4}}
TS_RENAMED = {**TS, "name": "tsr", "time_slicing": {"replicas": 4, "rename_by_default": True}}
POOL_LABELS = {"mlinfra.io/capacity-type": "on-demand"}

# (case, driver, pools, cluster MIG strategy, {pool: (resources per node, labels beyond mlinfra.io/*)})
GKE_CONTRACT = [
    ("native", "cloud", [MIG_1G, TS], "single", {
        "mig": ({"nvidia.com/gpu": 56}, {}),        # 8 GPUs x 7 partitions, GKE's single strategy
        "ts": ({"nvidia.com/gpu": 16}, {}),         # 4 GPUs x 4 clients, never renamed
    }),
    ("operator single", "operator", [MIG_1G, TS], "single", {
        "mig": ({"nvidia.com/gpu": 56}, {"nvidia.com/mig.config": "all-1g.10gb"}),
        "ts": ({"nvidia.com/gpu": 16}, {"nvidia.com/device-plugin.config": "time-slicing-4"}),
    }),
    ("operator mixed, renamed", "operator", [MIG_1G, MIG_MIX, TS_RENAMED], "mixed", {
        "mig": ({"nvidia.com/mig-1g.10gb": 56}, {"nvidia.com/mig.config": "all-1g.10gb"}),
        "mix": ({"nvidia.com/mig-3g.40gb": 8, "nvidia.com/mig-2g.20gb": 16}, {"nvidia.com/mig.config": "mlinfra-mix"}),
        "tsr": ({"nvidia.com/gpu.shared": 16}, {"nvidia.com/device-plugin.config": "time-slicing-4-renamed"}),
    }),
]


@pytest.mark.parametrize(("case", "driver", "pools", "strategy", "expected"), GKE_CONTRACT,
                         ids=[c[0] for c in GKE_CONTRACT])
def test_gke_pool_contract_follows_who_runs_the_device_plugin(case, driver, pools, strategy, expected):
    cluster = _cluster("gcp", *pools, gpu_operator={"driver": driver})
    assert cluster_mig_strategy(cluster) == strategy
    resolved = {p.name: p for p in resolve_cluster_pools(cluster)}
    for name, (resources, labels) in expected.items():
        pool = resolved[name]
        assert pool.gke_native is (driver == "cloud")
        assert pool.resources_per_node() == resources, name
        assert pool.labels == {"mlinfra.io/pool": name, "mlinfra.io/gpu-model": pool.gpu.name, **POOL_LABELS,
                               **labels}, name
        if driver == "operator":
            assert pool.mig_layout == labels.get("nvidia.com/mig.config")
        assert pool.device_plugin_config == labels.get("nvidia.com/device-plugin.config")


@pytest.mark.parametrize(("case", "driver", "pools", "strategy", "expected"), GKE_CONTRACT,
                         ids=[c[0] for c in GKE_CONTRACT])
def test_kueue_flavors_and_quotas_use_the_resolved_resource_names(case, driver, pools, strategy, expected):
    spec = {"environment": "t", "scheduling": {"teams": [{"name": "a", "cluster": "gke"}]},
            "clusters": [{"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
                          "scheduler": "kueue", "gpu_operator": {"driver": driver}, "pools": pools}]}
    files = render_environment(spec)
    # One ClusterQueue per GPU class of the team (`a`, `a-mig-1g-10gb`, ...), each with one resource group.
    queues = [yaml.safe_load(t) for f, t in files.items() if f.startswith("manifests/gke/_cluster/ClusterQueue-a")]
    groups = [g for q in queues for g in q["spec"]["resourceGroups"]]
    assert len(groups) == len(queues)
    gpu_names = {r for per_node, _ in expected.values() for r in per_node}
    assert {r for g in groups for r in g["coveredResources"]} == {"cpu", "memory", *gpu_names}
    quotas = {f["name"]: {r["name"]: r["nominalQuota"] for r in f["resources"]} for g in groups for f in g["flavors"]}
    for name, (per_node, _) in expected.items():
        flavor = yaml.safe_load(files[f"manifests/gke/_cluster/ResourceFlavor-{name}.yaml"])
        assert flavor["spec"]["nodeLabels"]["mlinfra.io/pool"] == name
        # One team takes the whole pool at max_nodes (2).
        assert {r: quotas[name][r] for r in gpu_names if quotas[name].get(r)} == {r: n * 2 for r, n in per_node.items()}


def test_time_slicing_on_mig_devices_multiplies_each_mig_resource():
    c = {"name": "c", "cloud": "aws", **EKS_REACHABLE,
         "region": "us-east-1", "gpu_operator": {"time_slicing_on_mig": True},
         "pools": [{"name": "m", "gpu": "H100-80GB", "gpus_per_node": 8, "max_nodes": 1,
                    "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 2}},
                    "time_slicing": {"replicas": 2, "rename_by_default": True}}]}
    (resolved,) = resolve_cluster_pools(load_environment({"environment": "t", "clusters": [c]}).clusters[0])
    assert resolved.resources_per_node() == {"nvidia.com/mig-2g.20gb.shared": 32, "nvidia.com/mig-3g.40gb.shared": 16}


def test_mig_layouts_are_bounded_by_slices_not_by_rounded_memory():
    # 2 x 3g.71gb names 142 GB on a 141 GB H200; mig-parted accepts it, and so must the checks.
    c = {"name": "c", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
         "pools": [{"name": "m", "gpu": "H200-141GB", "max_nodes": 1, "mig": {"profiles": {"3g.71gb": 2}}}]}
    assert load_environment({"environment": "t", "clusters": [c]}).clusters[0].pools[0].mig is not None


# k8s-device-plugin v0.20.0: `.shared` when renamed (api/config/v1 DefaultSharedResourceNameSuffix), `mig-<profile>`
# under the mixed MIG strategy (internal/rm/rm.go AddDefaultResourcesToConfig), `gpu` otherwise.
@pytest.mark.parametrize(
    ("resources", "value"),
    [
        ({"nvidia.com/gpu": 8}, None),
        ({"nvidia.com/gpu": 56}, None),  # MIG single strategy
        ({"nvidia.com/gpu.shared": 4}, "gpu.shared"),
        ({"nvidia.com/mig-3g.40gb": 8, "nvidia.com/mig-1g.10gb": 32}, "mig"),
        ({"nvidia.com/mig-1g.10gb": 56}, "mig"),  # one profile, but the cluster runs the mixed strategy
        ({"nvidia.com/mig-3g.40gb.shared": 16, "nvidia.com/mig-1g.10gb.shared": 64}, "mig.shared"),
        ({}, None),
    ],
)
def test_gpu_resource_taint_names_what_the_nodes_advertise(resources, value):
    taint = gpu_resource_taint(resources)
    assert taint == (None if value is None else {"key": "mlinfra.io/gpu-resource", "value": value,
                                                 "effect": "NoSchedule"})
