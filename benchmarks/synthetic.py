"""Synthetic environments for the benchmarks: N clusters x M pools x T teams, across both clouds.

The specs exercise every component the way a large organisation would: GKE and EKS clusters (created), managed
node pools and node groups, Karpenter pools, MIG (single and mixed layouts), time-slicing and MPS, spot
capacity, Kueue and Volcano clusters, teams with quotas per flavor (pool flavors and pool-group flavors),
borrowing and lending limits, nested cohorts, teams left to split the capacity by default, monitoring on,
and an Alluxio cache per cloud. `mlinfra.spec.load_environment` accepts every size (checked by `--check`).
"""

from __future__ import annotations

from typing import Any

SIZES: dict[str, tuple[int, int, int]] = {
    "small": (1, 5, 5),
    "medium": (4, 25, 40),
    "large": (8, 50, 100),
    # Not in the default run: twice the large size, to check that growth stays linear past it.
    "xlarge": (16, 100, 200),
    # Not in the default run: about 10,000 resources, nine times large, for the cost per resource at scale.
    "10k": (72, 450, 900),
}

# Pool shapes cycled through per cloud: whole GPUs, MIG, time-slicing, MPS, spot (and Karpenter on AWS).
_GCP_POOLS: list[dict[str, Any]] = [
    {"gpu": "H100-80GB", "gpus_per_node": 8, "labels": {"bench.example.com/gpu-class": "whole"}},
    {"gpu": "H100-80GB", "gpus_per_node": 8, "mig": {"profiles": {"1g.10gb": 7}}},
    {"gpu": "L4-24GB", "gpus_per_node": 1, "time_slicing": {"replicas": 4}, "spot": True},
    {"gpu": "L4-24GB", "gpus_per_node": 4, "mps": {"replicas": 2}},
    {"gpu": "A100-80GB", "gpus_per_node": 8, "spot": True},
]
_AWS_POOLS: list[dict[str, Any]] = [
    {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "labels": {"bench.example.com/gpu-class": "whole"}},
    {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "mig": {"profiles": {"3g.40gb": 1, "2g.20gb": 1,
                                                                                "1g.10gb": 1}}},
    {"gpu": "L4-24GB", "gpus_per_node": 4, "time_slicing": {"replicas": 4}, "spot": True,
     "provisioner": "karpenter"},
    {"gpu": "L40S-48GB", "gpus_per_node": 1, "time_slicing": {"replicas": 2}},
    {"gpu": "H100-80GB", "instance_types": ["p5.48xlarge"], "spot": True, "provisioner": "karpenter"},
]


def _cluster(c: int) -> dict[str, Any]:
    # Even clusters on GKE, odd on EKS; every fourth cluster (c3, c7) runs Volcano instead of Kueue.
    cloud = "aws" if c % 2 else "gcp"
    cluster: dict[str, Any] = {
        "name": f"c{c}",
        "cloud": cloud,
        "region": "us-east-1" if cloud == "aws" else "us-central1",
        "scheduler": "volcano" if c % 4 == 3 else "kueue",
        # Deployed from a runner inside the cluster's own network: a private endpoint only (on GKE the runner
        # sits in the subnetwork mlinfra creates, the only place its private endpoint is reached from directly).
        "endpoint": {"private_access_cidrs": ["10.100.0.0/16" if cloud == "aws" else "10.0.8.0/24"]},
        "pools": [],
    }
    if cloud == "gcp":
        cluster["project"] = "bench"
    else:
        cluster["network"] = {"vpc_id": f"vpc-{c:017x}", "subnet_ids": [f"subnet-{c:08x}{z:09x}" for z in range(3)]}
    return cluster


def synthetic_environment(clusters: int, pools: int, teams: int) -> dict[str, Any]:
    """An environment spec dict; pools and teams are spread evenly over the clusters."""
    out = [_cluster(c) for c in range(clusters)]
    for p in range(pools):
        cluster = out[p % clusters]
        shapes = _AWS_POOLS if cluster["cloud"] == "aws" else _GCP_POOLS
        shape = shapes[(p // clusters) % len(shapes)]
        cluster["pools"].append({"name": f"pool-{p}", "min_nodes": 0, "max_nodes": 4, **shape})

    # Per cluster: a pool-group flavor over its on-demand H100 pools, a root cohort and two child cohorts.
    flavors, cohorts = [], []
    for cluster in out:
        name = cluster["name"]
        flavors.append({"name": f"{name}-h100", "cluster": name,
                        # Whole on-demand H100s only: a flavor holds one kind of GPU.
                        "node_labels": {"mlinfra.io/gpu-model": "H100-80GB", "mlinfra.io/capacity-type": "on-demand",
                                        "bench.example.com/gpu-class": "whole"}})
        cohorts.append({"name": f"{name}-org", "cluster": name})
        for part in ("train", "serve"):
            cohorts.append({"name": f"{name}-{part}", "cluster": name, "parent": f"{name}-org"})

    team_list = []
    for t in range(teams):
        cluster = out[t % clusters]
        name = cluster["name"]
        team: dict[str, Any] = {"name": f"team-{t}", "cluster": name}
        kind = (t // clusters) % 4
        if kind != 3:
            team["cohort"] = f"{name}-{'train' if kind % 2 else 'serve'}"
        if kind in (0, 1):
            # One GPU on the cluster's first pool flavor (whole H100s), one on the H100 group, with limits.
            first = cluster["pools"][0]["name"] if cluster["pools"] else None
            quotas: list[dict[str, Any]] = []
            if first is not None:
                quotas.append({"flavor": first, "resources": {"nvidia.com/gpu": 1, "cpu": 8, "memory": "64Gi"},
                               "borrowing_limit": {"nvidia.com/gpu": 2}, "lending_limit": {"nvidia.com/gpu": 1}})
            quotas.append({"flavor": f"{name}-h100", "resources": {"nvidia.com/gpu": 1}})
            team["quotas"] = quotas
        if kind == 2:
            team["preemption"] = {"reclaim_within_cohort": "Any", "borrow_within_cohort": "LowerPriority",
                                  "borrow_max_priority_threshold": 1000}
        team_list.append(team)

    env: dict[str, Any] = {
        "environment": "bench",
        "clusters": out,
        "scheduling": {"teams": team_list, "cohorts": cohorts, "flavors": flavors},
        "monitoring": {"enabled": True},
    }
    caches = []
    for cluster in out[:2]:
        scheme = "s3" if cluster["cloud"] == "aws" else "gs"
        on_cluster = [t["name"] for t in team_list if t["cluster"] == cluster["name"]]
        caches.append({
            "name": f"corpus-{cluster['name']}",
            "cluster": cluster["name"],
            "mounts": [{"url": f"{scheme}://bench-datasets-{cluster['name']}/corpus"}],
            "pools": [cluster["pools"][0]["name"]],
            "teams": on_cluster[:3],
            "replicas": 2,
            "tiers": [{"medium": "MEM", "quota": "32Gi"}, {"medium": "SSD", "quota": "80Gi"}],
            "warmup": {"paths": ["/"]},
        })
    env["caches"] = caches
    return env


def main() -> int:
    """Check every size with `load_environment` and print its shape."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mlinfra.spec import load_environment

    for size, dims in SIZES.items():
        env = load_environment(synthetic_environment(*dims))
        clouds = sorted({c.cloud for c in env.clusters})
        provisioners = sorted({p.provisioner for c in env.clusters for p in c.pools})
        print(f"{size}: {len(env.clusters)} clusters ({', '.join(clouds)}), "
              f"{sum(len(c.pools) for c in env.clusters)} pools ({', '.join(provisioners)}), "
              f"{len(env.scheduling.teams)} teams, {len(env.caches)} caches: valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
