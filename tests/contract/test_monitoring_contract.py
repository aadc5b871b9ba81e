"""Monitoring renders against the pinned upstream contracts: prometheus-operator CRDs, chart values, DCGM fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, EKS_REACHABLE

from mlinfra.catalog.dcgm import exported_metric_names
from mlinfra.k8s.dashboards import gpu_dashboards
from mlinfra.k8s.monitoring import grafana_admin_secret, prometheus_service_url, stack_fullname
from mlinfra.k8s.monitoring_rules import DCGM_JOB, dcgm_fields_used, exported_dcgm_metrics
from mlinfra.k8s.prometheus_adapter import exposed_metrics, gpu_adapter_rules
from mlinfra.offline.render import render_environment
from mlinfra.offline.validate import validate_dir

SPEC: dict[str, Any] = {
    "environment": "contract",
    "clusters": [
        {"name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
         "pools": [{"name": "h100", "gpu": "H100-80GB", "max_nodes": 2,
                    "mig": {"profiles": {"1g.10gb": 3, "2g.20gb": 2}}}]},
        {"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS,
         "region": "us-central1", "project": "p", "scheduler": "volcano",
         "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 3, "spot": True}]},
    ],
    "monitoring": {"retention": "30d", "storage_gib": 200, "storage_class": "premium-rwo", "grafana_storage_gib": 10},
}
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
RELEASES = ("kube-prometheus-stack", "prometheus-adapter")


def _is_monitoring(path: str, doc: dict[str, Any]) -> bool:
    return "/monitoring/" in path or doc.get("kind") in MONITORING_KINDS or (
        doc.get("kind") == "Namespace" and doc["metadata"]["name"] == "monitoring")


@pytest.fixture(scope="module")
def render() -> dict[str, str]:
    return render_environment(SPEC)


@pytest.fixture(scope="module")
def monitoring_render(render, tmp_path_factory) -> Path:
    """The monitoring part of the render (and every monitor or rule of other add-ons) as a render folder.

    The render masks secret values (depending on the render version, the whole `stringData` map as one
    "[secret]"); the Grafana admin Secret is written from its manifest function with a placeholder password
    instead, so its shape is checked either way.
    """
    out = tmp_path_factory.mktemp("render")
    count = 0
    for path, text in render.items():
        if path.startswith("helm/") and Path(path).stem in RELEASES:
            pass
        elif path.startswith("manifests/") and _is_monitoring(path, doc := yaml.safe_load(text)):
            if doc["kind"] == "Secret" and doc["metadata"]["name"] == "grafana-admin":
                data = doc["stringData"]
                assert data == "[secret]" or data.get("admin-password") == "[secret]", \
                    "the generated password must reach the render masked"
                text = yaml.safe_dump(grafana_admin_secret("placeholder"))
        else:
            continue
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text)
        count += 1
    assert count >= 2 * 7, sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    return out


def test_rendered_monitoring_objects_and_values_validate_clean(monitoring_render, upstream):
    report = validate_dir(monitoring_render, crds_dir=upstream)
    assert report.problems == [], report.format()
    kinds = {yaml.safe_load(p.read_text()).get("kind") for p in (monitoring_render / "manifests").rglob("*.yaml")}
    assert {"PrometheusRule", "ConfigMap", "Secret", "Namespace"} <= kinds


def test_validation_would_catch_a_bad_rule(monitoring_render, upstream, tmp_path):
    # Guard against a vacuous pass: a PrometheusRule with an unknown field must be refused.
    rule = next(monitoring_render.rglob("PrometheusRule-*.yaml"))
    doc = yaml.safe_load(rule.read_text())
    doc["spec"]["groups"][0]["rules"][0]["severity"] = "critical"
    bad = tmp_path / "manifests" / "c" / "monitoring" / rule.name
    bad.parent.mkdir(parents=True)
    bad.write_text(yaml.safe_dump(doc))
    report = validate_dir(tmp_path, crds_dir=upstream)
    assert any("severity" in str(p) for p in report.problems), report.format()


def test_helm_values_wire_prometheus_grafana_and_adapter(render):
    stack = yaml.safe_load(render["helm/eks/kube-prometheus-stack.yaml"])
    adapter = yaml.safe_load(render["helm/eks/prometheus-adapter.yaml"])
    assert (stack["version"], adapter["version"]) == ("88.5.3", "5.3.0")
    spec = stack["values"]["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d" and spec["retentionSize"] == "170GiB"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "premium-rwo"
    assert all(spec[f"{k}SelectorNilUsesHelmValues"] is False
               for k in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"))
    grafana = stack["values"]["grafana"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in grafana
    assert grafana["persistence"] == {"enabled": True, "size": "10Gi"}
    # The adapter talks to the Service the chart creates for this release.
    assert adapter["values"]["prometheus"] == {
        "url": "http://kube-prometheus-stack-prometheus.monitoring.svc", "port": 9090}
    assert stack_fullname(stack_name := "kube-prometheus-stack") == stack_name
    assert adapter["values"]["prometheus"]["url"] == prometheus_service_url()
    # The EKS cluster has MIG pools: utilisation from DCGM_FI_PROF_GR_ENGINE_ACTIVE, which MIG devices report
    # (NVIDIA/dcgm-exporter#216); the GKE cluster has whole GPUs only.
    assert adapter["values"]["rules"]["custom"] == gpu_adapter_rules(mig=True)
    gke_adapter = yaml.safe_load(render["helm/gke/prometheus-adapter.yaml"])
    assert gke_adapter["values"]["rules"]["custom"] == gpu_adapter_rules(mig=False)


def test_every_dcgm_field_used_is_exported_by_the_exporter(render):
    exported = exported_metric_names()
    assert exported_dcgm_metrics() == exported, "rules must be built from the GPU operator's counter catalog"
    rules = yaml.safe_load(render["manifests/eks/monitoring/PrometheusRule-mlinfra-gpu-alerts.yaml"])
    used = dcgm_fields_used(rules["spec"]["groups"])
    for mig in (False, True):
        rules = gpu_adapter_rules(mig)
        used |= dcgm_fields_used([{"rules": [{"expr": r["seriesQuery"] + r["metricsQuery"]} for r in rules]}])
    used |= dcgm_fields_used([{"rules": [{"expr": t["expr"]} for b in gpu_dashboards("c").values()
                                        for p in b["panels"] for t in p["targets"]]}])
    assert used, "no DCGM field found: the field pattern is broken"
    assert used - exported == set()


def test_the_exporter_catalog_lets_every_gpu_alert_in(render):
    rules = yaml.safe_load(render["manifests/eks/monitoring/PrometheusRule-mlinfra-gpu-alerts.yaml"])
    alerts = {r["alert"] for g in rules["spec"]["groups"] for r in g["rules"]}
    assert alerts == {
        "GpuXidErrorCritical", "GpuXidError", "GpuRowRemapFailure", "GpuUncorrectableMemoryError",
        "GpuEccDoubleBitErrors", "GpuTemperatureHigh", "GpuMemoryNearFull", "GpuAllocatedIdle",
        "DcgmExporterDown", "GpuThermalThrottling", "GpuPowerThrottling", "KueueWorkloadsPendingTooLong",
    }
    assert f'up{{job="{DCGM_JOB}"}}' in str(rules)


def test_kueue_alerts_only_where_kueue_runs(render):
    volcano = yaml.safe_load(render["manifests/gke/monitoring/PrometheusRule-mlinfra-gpu-alerts.yaml"])
    assert [g["name"] for g in volcano["spec"]["groups"]] == ["mlinfra-gpu"]


def test_kueue_metric_names_match_the_alerts():
    # Kueue v0.19 names: the pending gauge by cluster_queue/status, the admitted counter by cluster_queue.
    from mlinfra.k8s.monitoring_rules import kueue_alert_rules
    from mlinfra.spec.monitoring import AlertsSpec

    expr = kueue_alert_rules(AlertsSpec())[0]["expr"]
    assert "kueue_pending_workloads" in expr and "kueue_admitted_workloads_total" in expr


@pytest.mark.parametrize("mig", [False, True])
def test_the_hpa_metric_is_served_by_an_adapter_rule(mig):
    assert exposed_metrics(gpu_adapter_rules(mig)) == {"gpu_utilization", "gpu_memory_used_percent"}


def test_gpu_alerts_follow_what_each_cluster_advertises_and_exposes(render):
    """MIG devices report no DCGM_FI_DEV_GPU_UTIL (NVIDIA/dcgm-exporter#216); nodes of a mixed-strategy MIG pool
    advertise nvidia.com/mig-<profile>, which kube-state-metrics labels nvidia_com_mig_<profile>."""
    def rules(cluster):
        doc = yaml.safe_load(render[f"manifests/{cluster}/monitoring/PrometheusRule-mlinfra-gpu-alerts.yaml"])
        return {r["alert"]: r["expr"] for g in doc["spec"]["groups"] for r in g["rules"]}

    eks, gke = rules("eks"), rules("gke")
    assert "DCGM_FI_PROF_GR_ENGINE_ACTIVE" in eks["GpuAllocatedIdle"] and "GPU_UTIL" not in eks["GpuAllocatedIdle"]
    assert "DCGM_FI_DEV_GPU_UTIL" in gke["GpuAllocatedIdle"]
    assert 'resource=~"nvidia_com_mig_1g_10gb|nvidia_com_mig_2g_20gb"' in eks["DcgmExporterDown"]
    assert 'resource="nvidia_com_gpu"' in gke["DcgmExporterDown"]


def test_dcgm_pod_labels_match_the_operator_service_monitor(render):
    # With honorLabels off (the operator's default), the exporter's namespace/pod labels arrive as exported_*,
    # which is what the rules, dashboards and adapter select on.
    from mlinfra.k8s.monitoring_rules import DCGM_NAMESPACE_LABEL, DCGM_POD_LABEL

    values = yaml.safe_load(render["helm/eks/gpu-operator.yaml"])["values"]
    monitor = values["dcgmExporter"]["serviceMonitor"]
    assert monitor["enabled"] is True
    assert monitor.get("honorLabels", False) is False
    assert (DCGM_NAMESPACE_LABEL, DCGM_POD_LABEL) == ("exported_namespace", "exported_pod")


# EKS and GKE run the controller manager, scheduler and etcd outside the cluster and kube-proxy serves its
# metrics on 127.0.0.1 only, so their ServiceMonitors never find a target and the chart's default
# "...Down" alerts fire forever (prometheus-operator/prometheus-operator#2461; aws/containers-roadmap#1298;
# prometheus-community/helm-charts#3368, #4106, #977). The chart scrapes and alerts on them by default.
def test_hidden_control_plane_components_are_neither_scraped_nor_alerted_on(upstream):
    defaults = yaml.safe_load((upstream / "kube-prometheus-stack" / "88.5.3" / "values.yaml").read_text())
    components = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
    groups = ("kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording", "etcd", "kubeProxy")
    assert all(defaults[c]["enabled"] is True for c in components)
    assert all(defaults["defaultRules"]["rules"][g] is True for g in groups)
    files = render_environment(SPEC)
    paths = sorted(p for p in files if p.startswith("helm/") and p.endswith("/kube-prometheus-stack.yaml"))
    assert paths == ["helm/eks/kube-prometheus-stack.yaml", "helm/gke/kube-prometheus-stack.yaml"]
    for path in paths:
        _check_hidden_components_off(yaml.safe_load(files[path])["values"], components, groups)


def _check_hidden_components_off(values, components, groups):
    for component in components:
        assert values[component] == {"enabled": False}, component
    for group in groups:
        assert values["defaultRules"]["rules"][group] is False, group
    # Everything else the chart alerts on stays on (the API server and kubelets are reachable on both clouds).
    assert values["defaultRules"]["rules"].keys() == set(groups)
    assert "kubeApiServer" not in values and "kubelet" not in values
