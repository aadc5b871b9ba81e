"""GKE checks: provisioning models, boot disks, zones, versions, brought networks, N1 GPUs and the GPU taint.

Each invalid spec is refused before anything is registered, at its field path, with what to use instead.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from spec_assertions import DEPLOYERS, assert_refused

from mlinfra.checks import gke as gke_checks
from mlinfra.offline.render import render_environment
from mlinfra.spec import load_environment


def gke(*pools: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    base = {"name": "gke", "cloud": "gcp", "region": "us-central1", "project": "p", "pools": list(pools),
            "endpoint": DEPLOYERS}
    base.update(cluster)
    return {"environment": "t", "clusters": [base]}


def eks(*pools: dict[str, Any], **cluster: Any) -> dict[str, Any]:
    base = {"name": "eks", "cloud": "aws", "region": "us-east-1", "pools": list(pools), "endpoint": DEPLOYERS,
            "network": {"vpc_id": "vpc-0a", "subnet_ids": ["subnet-0a", "subnet-0b"]}}
    base.update(cluster)
    return {"environment": "t", "clusters": [base]}


def pool(**kw: Any) -> dict[str, Any]:
    return {"name": "p", "max_nodes": 2, **kw}


H100_1G = pool(gpu="H100-80GB", machine_type="a3-highgpu-1g")
H200 = pool(gpu="H200-141GB", machine_type="a3-ultragpu-8g", spot=True)
BYO = {"network": "shared", "subnetwork": "shared-us-central1", "pods_range": "gke-pods",
       "services_range": "gke-services"}


@pytest.mark.parametrize(
    ("spec", "path", "text"),
    [
        pytest.param(gke(H100_1G), "clusters[0].pools[0].spot",
                     "does not offer a3-highgpu-1g on demand, only as spot or flex-start VMs", id="on-demand 1g"),
        pytest.param(gke(pool(gpu="H100-80GB", machine_type="a3-highgpu-4g")), "clusters[0].pools[0].spot",
                     "choose a machine type offered on demand: a3-highgpu-8g", id="on-demand 4g names 8g"),
        pytest.param(gke(pool(gpu="B200-180GB", machine_type="a4-highgpu-8g")), "clusters[0].pools[0].spot",
                     "set spot: true", id="on-demand A4"),
        pytest.param(gke(pool(gpu="H100-80GB", gpus_per_node=2)), "clusters[0].pools[0].spot",
                     "Compute Engine does not offer a3-highgpu-2g on demand", id="on-demand by GPU count"),
        pytest.param(gke({**H200, "disk_type": "pd-balanced"}), "clusters[0].pools[0].disk_type",
                     "a3-ultragpu-8g boots from hyperdisk-balanced only", id="pd on A3 Ultra"),
        pytest.param(gke(pool(gpu="L4-24GB", disk_type="hyperdisk-balanced")), "clusters[0].pools[0].disk_type",
                     "g2-standard-4 boots from pd-balanced, pd-ssd only", id="hyperdisk on G2"),
        pytest.param(eks(pool(gpu="L4-24GB", disk_type="pd-ssd")), "clusters[0].pools[0].disk_type",
                     "disk_type is for GKE pools", id="disk_type on EKS"),
        pytest.param(gke({**H200, "zones": ["us-central1-a"]}), "clusters[0].pools[0].zones[0]",
                     "zones of us-central1 that offer it: us-central1-b", id="H200 zone without H200"),
        pytest.param(gke(H200, region="us-west2"), "clusters[0].pools[0].machine_type",
                     "a3-ultragpu-8g is not offered in any zone of us-west2; regions that offer it:",
                     id="H200 region without H200"),
        pytest.param(gke(pool(gpu="L4-24GB", taints=[{"key": "nvidia.com/gpu", "value": "l4"}])),
                     "clusters[0].pools[0].taints[0].key", "use another key for your own taint", id="GPU taint GKE"),
        pytest.param(eks(pool(gpu="L4-24GB", taints=[{"key": "nvidia.com/gpu", "value": "present"}])),
                     "clusters[0].pools[0].taints[0].key", "GKE rejects duplicate key and effect",
                     id="GPU taint EKS"),
        pytest.param(gke(pool(gpu="T4-16GB", machine_type="n1-standard-96")), "clusters[0].pools[0].machine_type",
                     "n1-standard-96 cannot take 1x T4-16GB", id="T4 on a too large N1"),
        pytest.param(gke(pool(gpu="T4-16GB", machine_type="n1-standard-8", gpus_per_node=8)),
                     "clusters[0].pools[0].machine_type", "cannot take 8x T4-16GB (it takes 1, 2, 4)",
                     id="8 T4 on N1"),
        pytest.param(gke(pool(machine_type="n1-standard-8")), "clusters[0].pools[0].machine_type",
                     "name the GPU to attach with `gpu`", id="N1 without gpu"),
        pytest.param(gke(pool(gpu="A100-40GB", machine_type="n1-standard-8")), "clusters[0].pools[0].machine_type",
                     "A100-40GB does not attach to N1 machine types", id="A100 on N1"),
        pytest.param(gke(pool(gpu="L4-24GB"), network={**BYO, "services_range": "gke-pods"}),
                     "clusters[0].network.services_range", "two different secondary ranges", id="same ranges"),
        pytest.param(gke(pool(gpu="L4-24GB"), network={**BYO, "network": "projects/x/global/networks/shared"}),
                     "clusters[0].network.network", "give the name, not a URL", id="network URL"),
        pytest.param(gke(pool(gpu="L4-24GB"), network={**BYO, "subnet": "x"}),
                     "clusters[0].network.subnet", "unknown field", id="GKE network typo"),
        pytest.param(eks(pool(gpu="L4-24GB"), network=BYO), "clusters[0].network",
                     "network, subnetwork and the secondary ranges are for GKE clusters", id="GKE network on EKS"),
        pytest.param(gke(pool(gpu="L4-24GB"), master_cidr="172.16.0.0/24"), "clusters[0].master_cidr",
                     "private IPv4 /28", id="master range not /28"),
        pytest.param(gke(pool(gpu="L4-24GB"),
                         endpoint={"private_access_cidrs": [f"10.99.{i}.0/24" for i in range(51)]}),
                     "clusters[0].endpoint", "at most 50 master authorized networks", id="51 deployer ranges"),
    ],
)
def test_what_gke_and_compute_engine_refuse(spec, path, text):
    assert_refused(spec, path, text)


@pytest.mark.parametrize(
    ("version", "today", "severity", "text"),
    [
        ("1.33", "2026-11-30", "error", "GKE 1.33 reached end of life on 2026-08-03"),
        ("1.34.6-gke.1068000", "2026-11-30", "error", "supported today: 1.35"),
        ("1.34", "2026-09-30", None, None),
        ("1.35", "2026-11-30", None, None),
        ("1.35", "2027-04-11", "error", "GKE 1.35 reached end of life on 2027-04-11"),
        ("1.29", "2026-11-30", "error", "GKE does not offer 1.29"),
        ("1.37", "2026-11-30", "warning", "no support dates for GKE 1.37"),
        ("latest", "2026-11-30", "error", "not a GKE version"),
    ],
)
def test_a_written_gke_version_must_still_create_clusters(version, today, severity, text):
    env = load_environment(gke(pool(gpu="L4-24GB", spot=True), kubernetes_version=version), raise_on_error=False,
                           on_warning=None)
    problems = [p for p in gke_checks.check(env, dt.date.fromisoformat(today))
                if p.path == "clusters[0].kubernetes_version"]
    if severity is None:
        assert problems == []
    else:
        (problem,) = problems
        assert (problem.severity, problem.value) == (severity, version)
        assert text in problem.message


def test_without_a_version_the_cluster_follows_its_release_channel():
    env = load_environment(gke(pool(gpu="L4-24GB", spot=True)))
    assert not [p for p in gke_checks.check(env, dt.date(2030, 1, 1)) if "kubernetes_version" in p.path]
    res = json.loads(render_environment(gke(pool(gpu="L4-24GB", spot=True)))["resources.json"])
    (cluster,) = [r for r in res if r["type"] == "gcp:container/cluster:Cluster"]
    assert "minMasterVersion" not in cluster["inputs"]
    assert cluster["inputs"]["releaseChannel"] == {"channel": "REGULAR"}
    pinned = json.loads(render_environment(gke(pool(gpu="L4-24GB", spot=True), kubernetes_version="1.35"))[
        "resources.json"])
    (cluster,) = [r for r in pinned if r["type"] == "gcp:container/cluster:Cluster"]
    assert cluster["inputs"]["minMasterVersion"] == "1.35"


def _pools(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    res = json.loads(render_environment(spec)["resources.json"])
    return {r["name"]: r["inputs"] for r in res if r["type"] == "gcp:container/nodePool:NodePool"}


def test_pools_get_the_zones_their_machine_type_exists_in_and_a_disk_it_boots_from():
    pools = _pools(gke(
        {**H200, "name": "h200"},
        pool(name="h100", gpu="H100-80GB", machine_type="a3-highgpu-1g", spot=True, min_nodes=4, max_nodes=6),
        pool(name="named", gpu="H100-80GB", machine_type="a3-highgpu-8g", zones=["us-central1-c"], min_nodes=3,
             max_nodes=3),
        pool(name="l4", gpu="L4-24GB", spot=True, min_nodes=2),
    ))
    h200, h100, named, l4 = pools["gke-h200-pool"], pools["gke-h100-pool"], pools["gke-named-pool"], pools[
        "gke-l4-pool"]
    assert h200["nodeLocations"] == ["us-central1-b"]
    assert h200["nodeConfig"]["diskType"] == "hyperdisk-balanced"
    assert h100["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    # initial_node_count is per zone: 4 nodes over three zones start as 2 per zone.
    assert (h100["initialNodeCount"], h100["nodeConfig"]["diskType"]) == (2, "pd-balanced")
    assert (named["nodeLocations"], named["initialNodeCount"]) == (["us-central1-c"], 3)
    # G2's zones are not in the catalog: the pool takes the cluster's zones, min_nodes in each.
    assert "nodeLocations" not in l4 and l4["initialNodeCount"] == 2


def test_a_chosen_disk_type_is_kept_when_the_series_takes_it():
    (config,) = [p["nodeConfig"] for p in _pools(gke(pool(gpu="L4-24GB", disk_type="pd-ssd"))).values()]
    assert config["diskType"] == "pd-ssd"


def test_an_n1_pool_attaches_its_gpus():
    pools = _pools(gke(pool(name="t4", gpu="T4-16GB", gpus_per_node=2, machine_type="n1-standard-16"),
                       pool(name="v100", gpu="V100-16GB", spot=True)))
    t4, v100 = pools["gke-t4-pool"]["nodeConfig"], pools["gke-v100-pool"]["nodeConfig"]
    assert t4["machineType"] == "n1-standard-16"
    assert t4["guestAccelerators"][0]["type"] == "nvidia-tesla-t4"
    assert t4["guestAccelerators"][0]["count"] == 2
    assert (t4["diskType"], v100["machineType"]) == ("pd-balanced", "n1-standard-4")
    assert v100["guestAccelerators"][0]["type"] == "nvidia-tesla-v100"


@pytest.mark.parametrize(
    ("endpoint", "network", "warned"),
    [
        # A peering-based private cluster's control plane is reached from the cluster's own VPC; from Cloud VPN or
        # Interconnect only with routes exported to its peering; never from a peered VPC (Google Cloud, "Creating
        # GKE private clusters with network proxies for controller access": peering is not transitive).
        pytest.param({"private_access_cidrs": ["10.0.8.0/24"]}, None, [], id="runner in the created subnetwork"),
        pytest.param({"private_access_cidrs": ["10.40.8.0/24"]}, None, ["10.40.8.0/24"], id="peered network"),
        pytest.param({"private_access_cidrs": ["10.0.15.0/28", "10.100.0.0/16"]}, None, ["10.100.0.0/16"],
                     id="one inside, one VPN"),
        pytest.param({"private_access_cidrs": ["10.0.0.0/16"]}, None, ["10.0.0.0/16"], id="wider than the subnet"),
        pytest.param({"private_access_cidrs": ["10.40.8.0/24"]}, BYO, [], id="brought network: not known offline"),
        pytest.param({"public_access_cidrs": ["203.0.113.0/24"]}, None, [], id="public deployers only"),
    ],
)
def test_private_deployers_outside_the_clusters_vpc_are_warned_about(endpoint, network, warned):
    spec = gke(pool(gpu="L4-24GB", spot=True), endpoint=endpoint, **({"network": network} if network else {}))
    env = load_environment(spec, raise_on_error=False, on_warning=None)
    got = [p for p in gke_checks.check(env, dt.date(2026, 11, 30)) if "private_access_cidrs" in p.path]
    assert [p.value for p in got] == warned
    for p in got:
        assert p.severity == "warning"
        assert "peering is not transitive" in p.message and "public_access_cidrs" in p.message


def test_no_stack_declares_a_gke_private_deployer_the_control_plane_cannot_reach():
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    for stack in sorted((root / "stacks").glob("Pulumi.*.yaml")):
        spec = yaml.safe_load(stack.read_text())["config"]["mlinfra:platform"]
        env = load_environment(spec, raise_on_error=False, on_warning=None)
        got = [p for p in gke_checks.check(env, dt.date(2026, 11, 30)) if "private_access_cidrs" in p.path]
        assert got == [], (stack.name, got)
