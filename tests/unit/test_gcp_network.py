"""The GKE cluster's network: created (VPC, subnetwork with pod/service ranges, Cloud Router, Cloud NAT) or brought,
and the firewall rule from the control plane to the add-ons' webhooks on exactly the ports the add-ons use."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS

from mlinfra.offline.render import render_environment


def gke(**cluster: Any) -> dict[str, Any]:
    base = {"name": "gke", "cloud": "gcp", "region": "us-central1", "project": "p", "endpoint": DEPLOYERS,
            "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 2, "spot": True}]}
    base.update(cluster)
    return {"environment": "t", "clusters": [base]}


def render(spec: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    files = render_environment(spec)
    return json.loads(files["resources.json"]), files


def one(res: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [r for r in res if r["type"] == kind]
    return found


def test_a_created_cluster_gets_a_vpc_native_network_with_cloud_nat():
    res, _ = render(gke())
    vpc = one(res, "gcp:compute/network:Network")["inputs"]
    subnet = one(res, "gcp:compute/subnetwork:Subnetwork")["inputs"]
    router = one(res, "gcp:compute/router:Router")["inputs"]
    nat = one(res, "gcp:compute/routerNat:RouterNat")["inputs"]
    cluster = one(res, "gcp:container/cluster:Cluster")["inputs"]
    assert vpc["autoCreateSubnetworks"] is False
    assert subnet["region"] == router["region"] == nat["region"] == "us-central1"
    assert subnet["privateIpGoogleAccess"] is True
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]}
    assert cluster["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods",
                                             "servicesSecondaryRangeName": "services"}
    assert set(ranges) == {"pods", "services"}
    assert (cluster["network"], cluster["subnetwork"]) == (vpc["name"], subnet["name"])
    assert nat["router"] == router["name"]
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    # The nodes pull images as they boot, so the cluster (and its default pool) waits for the NAT.
    (cluster_res,) = [r for r in res if r["type"] == "gcp:container/cluster:Cluster"]
    assert "gke-network-nat" in cluster_res["dependencies"]


def test_a_brought_network_is_used_as_given_and_nothing_is_created():
    network = {"network": "shared", "subnetwork": "shared-uc1", "pods_range": "gke-pods", "services_range": "gke-svc"}
    res, _ = render(gke(network=network))
    assert not [r for r in res if r["type"] in ("gcp:compute/network:Network", "gcp:compute/routerNat:RouterNat",
                                                "gcp:compute/subnetwork:Subnetwork", "gcp:compute/router:Router")]
    cluster = one(res, "gcp:container/cluster:Cluster")["inputs"]
    assert (cluster["network"], cluster["subnetwork"]) == ("shared", "shared-uc1")
    assert cluster["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "gke-pods",
                                             "servicesSecondaryRangeName": "gke-svc"}
    assert one(res, "gcp:compute/firewall:Firewall")["inputs"]["network"] == "shared"


def _values(files: dict[str, str], release: str) -> dict[str, Any]:
    return yaml.safe_load(files[f"helm/gke/{release}.yaml"])["values"]


def _ports_from_rendered_addons(files: dict[str, str]) -> set[int]:
    """Each add-on's serving port as its own rendered Helm values set it."""
    ports: set[int] = set()
    if "helm/gke/kueue.yaml" in files:
        config = yaml.safe_load(_values(files, "kueue")["managerConfig"]["controllerManagerConfigYaml"])
        ports.add(config["webhook"]["port"])
        # The visibility APIService's Service targets 8082, a literal in the chart (kueue@v0.19.2
        # charts/kueue/templates/visibility/service.yaml), not a value.
        ports.add(8082)
    if "helm/gke/volcano.yaml" in files:
        ports.add(_values(files, "volcano")["basic"]["admission_port"])
    if "helm/gke/prometheus-adapter.yaml" in files:
        ports.add(_values(files, "prometheus-adapter")["listenPort"])
    if "helm/gke/kube-prometheus-stack.yaml" in files:
        ports.add(_values(files, "kube-prometheus-stack")["prometheusOperator"]["tls"]["internalPort"])
    if "helm/gke/fluid.yaml" in files:
        # Fluid's chart has no value for it: its webhook Service targets 9443 (charts/fluid/fluid/templates/
        # webhook/service.yaml); the values must not try to move it.
        assert "webhook" not in _values(files, "fluid") or "port" not in _values(files, "fluid")["webhook"]
        ports.add(9443)
    return ports


CACHE = {"name": "c", "cluster": "gke", "mounts": [{"url": "gs://b/d"}], "pools": ["l4"], "teams": ["research"],
         "tiers": [{"medium": "MEM", "quota": "8Gi"}]}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="kueue only"),
        pytest.param({"scheduler": "volcano"}, id="volcano"),
        pytest.param({"monitoring": {"enabled": True}}, id="kueue and monitoring"),
        pytest.param({"monitoring": {"enabled": True, "autoscaling": False}, "scheduler": "volcano"},
                     id="volcano, monitoring without the adapter"),
        pytest.param({"caches": [CACHE], "monitoring": {"enabled": True}}, id="everything"),
    ],
)
def test_the_webhook_firewall_opens_exactly_the_ports_the_addons_serve_on(extra):
    spec = gke(**({"scheduler": extra["scheduler"]} if "scheduler" in extra else {}))
    spec["scheduling"] = {"teams": [{"name": "research", "cluster": "gke"}]}
    for key in ("caches", "monitoring"):
        if key in extra:
            spec[key] = extra[key]
    res, files = render(spec)
    rule = one(res, "gcp:compute/firewall:Firewall")["inputs"]
    cluster = one(res, "gcp:container/cluster:Cluster")["inputs"]
    (account,) = [r for r in res if r["type"] == "gcp:serviceaccount/account:Account" and r["name"] == "gke-nodes"]
    (allow,) = rule["allows"]
    assert allow["protocol"] == "tcp"
    assert {int(p) for p in allow["ports"]} == _ports_from_rendered_addons(files)
    assert rule["direction"] == "INGRESS"
    assert rule["sourceRanges"] == [cluster["privateClusterConfig"]["masterIpv4CidrBlock"]]
    # Every pool, the system one too, runs as the node service account the rule targets.
    assert rule["targetServiceAccounts"] == [cluster["nodeConfig"]["serviceAccount"]]
    assert account["inputs"]["accountId"] == "gke-nodes"


def test_no_addon_with_a_webhook_means_no_rule():
    spec = gke(scheduler="none")
    spec["monitoring"] = {"enabled": False}
    res, _ = render(spec)
    assert not [r for r in res if r["type"] == "gcp:compute/firewall:Firewall"]


@pytest.mark.parametrize(
    ("endpoint", "private_endpoint", "authorized", "global_access"),
    [
        # Public deployers only: the public endpoint, limited to them.
        pytest.param({"public_access_cidrs": ["198.51.100.0/24"]}, False, ["198.51.100.0/24"], False,
                     id="public"),
        # Private deployers only (a runner in the VPC, or behind Cloud VPN / Interconnect): no public endpoint;
        # the private endpoint admits them as authorized networks, from any region.
        pytest.param({"private_access_cidrs": ["10.40.8.0/24", "10.100.0.0/16"]}, True,
                     ["10.40.8.0/24", "10.100.0.0/16"], True, id="private"),
        pytest.param({"public_access_cidrs": ["203.0.113.0/24"], "private_access_cidrs": ["10.40.8.0/24"]}, False,
                     ["203.0.113.0/24", "10.40.8.0/24"], True, id="both"),
    ],
)
def test_the_endpoint_admits_exactly_the_declared_deployers(endpoint, private_endpoint, authorized, global_access):
    res, _ = render(gke(endpoint=endpoint))
    cluster = one(res, "gcp:container/cluster:Cluster")["inputs"]
    private = cluster["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True
    assert private["enablePrivateEndpoint"] is private_endpoint
    networks = cluster["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in networks["cidrBlocks"]] == authorized
    # Without this, every Compute Engine public IP of any Google Cloud customer reaches the endpoint.
    assert networks["gcpPublicCidrsAccessEnabled"] is False
    assert ("masterGlobalAccessConfig" in private) is global_access
    if global_access:
        assert private["masterGlobalAccessConfig"] == {"enabled": True}
