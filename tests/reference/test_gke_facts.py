"""Sourced facts about GKE and Compute Engine that the GKE components and checks rely on, one test per fact.

Each test names where the fact comes from; the catalog (`mlinfra/catalog/_gke_data.py`) carries the same
source next to the data.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from mlinfra import catalog
from mlinfra.catalog import gke as facts
from mlinfra.offline.render import render_environment

ROOT = Path(__file__).resolve().parents[2]


def _stack(env: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{env}.yaml").read_text())["config"]["mlinfra:platform"]


def _gke_resources(env: str) -> list[dict[str, Any]]:
    return json.loads(render_environment(_stack(env))["resources.json"])


def test_gke_1_33_and_1_34_are_past_end_of_life_on_2026_11_30():
    # GKE release schedule (https://cloud.google.com/kubernetes-engine/docs/release-schedule), as published by
    # endoflife.date's google-kubernetes-engine API: 1.34 end of life 2026-10-01, 1.35 end of life 2027-04-11;
    # 1.33 end of life 2026-08-03 (issue 18 quoting the same schedule).
    today = dt.date(2026, 11, 30)
    assert facts.GKE_VERSIONS["1.33"].end_of_life == dt.date(2026, 8, 3)
    assert facts.GKE_VERSIONS["1.34"].end_of_life == dt.date(2026, 10, 1)
    assert facts.GKE_VERSIONS["1.35"].end_of_life == dt.date(2027, 4, 11)
    assert facts.supported_gke_versions(today) == ["1.35"]


def test_the_stacks_gke_clusters_follow_their_release_channel():
    # A written minimum goes past end of life (1.33 did); without min_master_version GKE creates the release
    # channel's default version (GKE "Release channels": new clusters get the channel's default version).
    for env in ("dev", "staging", "prod"):
        for r in _gke_resources(env):
            if r["type"] == "gcp:container/cluster:Cluster":
                assert "minMasterVersion" not in r["inputs"], env
                assert r["inputs"]["releaseChannel"]["channel"] in ("RAPID", "REGULAR", "STABLE")


def test_a3_ultra_a4_a4x_and_g4_boot_from_hyperdisk_only():
    # Compute Engine API AttachedDiskInitializeParams.diskType (A3 and newer series default to
    # hyperdisk-balanced); Vertex AI DiskSpec.bootDiskType ("for A3U machines, the default value is
    # hyperdisk-balanced"); skypilot-org/skypilot#5351 (hyperdisk-balanced is the only Hyperdisk boot type;
    # A3 takes no pd-standard); NVIDIA/aicr#2338 (a4x refuses pd-balanced).
    for machine in ("a3-ultragpu-8g", "a4-highgpu-8g", "a4x-highgpu-4g", "g4-standard-48"):
        assert facts.boot_disk_types(machine) == ("hyperdisk-balanced",), machine
        assert facts.default_boot_disk(machine) == "hyperdisk-balanced", machine
    assert "pd-standard" not in facts.boot_disk_types("a3-highgpu-8g")
    assert "hyperdisk-balanced" in facts.boot_disk_types("a3-megagpu-8g")
    for machine in ("a2-highgpu-1g", "g2-standard-8", "n1-standard-8"):
        assert "hyperdisk-balanced" not in facts.boot_disk_types(machine), machine
    # Every catalog machine type has a row, so no pool falls back to a guess.
    for m in catalog.gcp_machine_offers():
        assert facts.default_boot_disk(m.name) in facts.boot_disk_types(m.name), m.name


def test_a3_high_with_fewer_than_8_gpus_and_a4_are_not_offered_on_demand():
    # Compute Engine accelerator-optimized machines, "consumption option availability by machine type";
    # dstackai/gpuhunt#176 drops the on-demand offers of A3 High with fewer than 8 GPUs for that reason, and
    # dstackai/dstack#3100 finds A4 (B200) available as Spot but not on demand.
    for machine in ("a3-highgpu-1g", "a3-highgpu-2g", "a3-highgpu-4g", "a4-highgpu-8g"):
        assert "on-demand" not in facts.provisioning_models(machine), machine
        assert {"spot", "flex-start"} <= set(facts.provisioning_models(machine)), machine
    assert "on-demand" in facts.provisioning_models("a3-highgpu-8g")


def test_no_stack_or_example_has_an_on_demand_pool_of_a_spot_or_flex_only_type():
    envs = [_stack(e) for e in ("dev", "staging", "prod")]
    envs.append(yaml.safe_load((ROOT / "examples" / "mig-inference-gke" / "Pulumi.dev.yaml").read_text())[
        "config"]["mlinfra:platform"])
    for env in envs:
        for r in json.loads(render_environment(env)["resources.json"]):
            if r["type"] == "gcp:container/nodePool:NodePool":
                config = r["inputs"]["nodeConfig"]
                assert config["spot"] or "on-demand" in facts.provisioning_models(config["machineType"]), r["name"]


def test_h100_h200_and_b200_machines_exist_in_some_zones_of_us_central1_only():
    # Compute Engine machineTypes.list per zone, recorded in skypilot-org/skypilot-catalog
    # catalogs/v8/gcp/vms.csv: a3-highgpu-* and a3-megagpu-8g in us-central1-a/b/c, a3-ultragpu-8g and
    # a4-highgpu-8g in us-central1-b only, a2-ultragpu-* in us-central1-a/c; us-west2 has no A3 Ultra.
    assert facts.machine_zones("a3-highgpu-1g", "us-central1") == ("us-central1-a", "us-central1-b",
                                                                   "us-central1-c")
    assert facts.machine_zones("a3-megagpu-8g", "us-central1") == ("us-central1-a", "us-central1-b",
                                                                   "us-central1-c")
    assert facts.machine_zones("a3-ultragpu-8g", "us-central1") == ("us-central1-b",)
    assert facts.machine_zones("a4-highgpu-8g", "us-central1") == ("us-central1-b",)
    assert facts.machine_zones("a2-ultragpu-8g", "us-central1") == ("us-central1-a", "us-central1-c")
    assert facts.machine_zones("a3-ultragpu-8g", "us-west2") == ()


def test_every_a3_and_a4_pool_of_the_stacks_names_zones_that_have_its_machines():
    seen = 0
    for env in ("dev", "staging", "prod"):
        for r in _gke_resources(env):
            if r["type"] != "gcp:container/nodePool:NodePool":
                continue
            machine, region = r["inputs"]["nodeConfig"]["machineType"], r["inputs"]["location"]
            if machine.startswith(("a3-", "a4")):
                seen += 1
                zones = r["inputs"]["nodeLocations"]
                assert zones and set(zones) <= set(facts.machine_zones(machine, region)), (env, r["name"])
    assert seen >= 4


def test_gpus_attach_to_n1_machine_types_within_the_cpu_and_memory_limits():
    # Compute Engine GPU machine types, N1 general-purpose machine types; transcribed in dstackai/gpuhunt
    # src/gpuhunt/providers/gcp.py `accelerator_limits`: T4 1-2 GPUs up to 48 vCPU/312 GB, 4 GPUs 96/624;
    # V100 1/2/4/8 GPUs up to 12/24/48/96 vCPU; P100 1/2/4 up to 16/32/96; P4 1/2/4 up to 24/48/96.
    def counts(machine: str, gpu: str) -> list[int]:
        return sorted(m.gpu_count for m in catalog.GCP_N1_OFFERS if m.name == machine
                      and catalog.GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model == gpu)

    assert counts("n1-standard-16", "T4-16GB") == [1, 2, 4]
    assert counts("n1-standard-64", "T4-16GB") == [4]
    assert counts("n1-standard-16", "V100-16GB") == [2, 4, 8]
    assert counts("n1-standard-8", "V100-16GB") == [1, 2, 4, 8]
    assert counts("n1-standard-16", "P100-16GB") == [1, 2, 4]
    assert counts("n1-standard-32", "P100-16GB") == [2, 4]
    assert counts("n1-standard-32", "P4-8GB") == [2, 4]
    assert catalog.gcp_machine_types_for("T4-16GB", 1)[0].name == "n1-standard-4"


def test_private_nodes_reach_registries_outside_google_through_cloud_nat():
    # GKE "Advanced private cluster configurations": private nodes pull from external registries through a
    # Cloud Router with Cloud NAT for all primary and alias IP ranges, with automatically allocated addresses.
    # cluster-toolkit modules/network/vpc creates the same by default: a custom-mode VPC
    # (auto_create_subnetworks = false), a primary subnetwork with private access, and a router with NAT per
    # region. docs/security.md promises this egress.
    for env in ("dev", "prod"):
        res = _gke_resources(env)
        kinds = {r["type"] for r in res}
        assert {"gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork", "gcp:compute/router:Router",
                "gcp:compute/routerNat:RouterNat"} <= kinds, env
        (nat,) = [r["inputs"] for r in res if r["type"] == "gcp:compute/routerNat:RouterNat"]
        assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
        assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert "Cloud NAT" in (ROOT / "docs" / "security.md").read_text()


def test_the_chart_defaults_match_the_ports_the_addons_pin(upstream):
    # kueue v0.19.2 charts/kueue/values.yaml: the manager's Configuration webhook port and the webhook Service's
    # targetPort; volcano v1.15.1 values.yaml basic.admission_port; prometheus-adapter 5.3.0 listenPort;
    # kube-prometheus-stack 88.5.3 prometheusOperator.tls.internalPort.
    from mlinfra.k8s import kueue, monitoring, prometheus_adapter, volcano

    kueue_values = yaml.safe_load((upstream / "kueue" / "v0.19.2" / "values.yaml").read_text())
    config = kueue_values["managerConfig"]["controllerManagerConfigYaml"]
    config = yaml.safe_load(config) if isinstance(config, str) else config
    assert config["webhook"]["port"] == kueue.WEBHOOK_PORT
    assert kueue_values["webhookService"]["ports"][0]["targetPort"] == kueue.WEBHOOK_PORT
    volcano_values = yaml.safe_load((upstream / "volcano" / "v1.15.1" / "values.yaml").read_text())
    assert volcano_values["basic"]["admission_port"] == volcano.ADMISSION_PORT
    adapter = yaml.safe_load((upstream / "prometheus-adapter" / "5.3.0" / "values.yaml").read_text())
    assert adapter["listenPort"] == prometheus_adapter.LISTEN_PORT
    stack = yaml.safe_load((upstream / "kube-prometheus-stack" / "88.5.3" / "values.yaml").read_text())
    assert stack["prometheusOperator"]["tls"]["internalPort"] == monitoring.OPERATOR_WEBHOOK_PORT


def test_the_kueue_visibility_apiservice_port_is_open_to_the_gke_control_plane(upstream):
    # kueue@v0.19.2 charts/kueue/templates/visibility/apiservice_v1beta1.yaml and apiservice_v1beta2.yaml register
    # the aggregated API visibility.kueue.x-k8s.io unconditionally, on the Service of
    # charts/kueue/templates/visibility/service.yaml, whose targetPort is 8082 (manager.yaml: containerPort 8082,
    # name `visibility`; apis/config/v1beta2/defaults.go: DefaultVisibilityBindPort = 8082). The API server
    # proxies the aggregated API to the pod, and a private GKE control plane reaches nodes on 443 and 10250 only
    # unless a firewall rule opens more (GKE private clusters, "Adding firewall rules for specific use cases");
    # an unavailable APIService fails discovery ("couldn't get resource list for visibility.kueue.x-k8s.io",
    # kubernetes-sigs/kueue#1519) and blocks namespace deletion.
    values = yaml.safe_load((upstream / "kueue" / "v0.19.2" / "values.yaml").read_text())
    assert "enableVisibilityAuthReaderRoleBinding" in values  # the pinned chart ships the visibility server
    config = yaml.safe_load((upstream / "kueue" / "v0.19.2" / "controller_manager_config.yaml").read_text())
    assert "visibilityServer" not in config  # so the server binds its default port
    for env in ("dev", "prod"):
        (rule,) = [r["inputs"] for r in _gke_resources(env) if r["type"] == "gcp:compute/firewall:Firewall"]
        assert "8082" in rule["allows"][0]["ports"], env


def test_every_gke_cluster_of_the_stacks_has_the_webhook_firewall_rule():
    # GKE private clusters: the control plane reaches nodes on 443 and 10250 only unless a firewall rule opens
    # more ("Adding firewall rules for specific use cases"); Kueue's webhook fails closed without it.
    for env in ("dev", "staging", "prod"):
        res = _gke_resources(env)
        clusters = [r for r in res if r["type"] == "gcp:container/cluster:Cluster"]
        rules = [r for r in res if r["type"] == "gcp:compute/firewall:Firewall"]
        assert len(rules) == len(clusters) >= 1, env
        for rule in rules:
            assert rule["inputs"]["allows"][0]["ports"], env
