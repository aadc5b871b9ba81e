"""Monitoring: spec tables, the pure decisions (values, adapter rules, HPA) and the rendered component."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from spec_assertions import DEPLOYERS, assert_refused

from mlinfra.checks.monitoring import hpa_metric_problems
from mlinfra.k8s.monitoring import namespace_manifest, retention_size, stack_fullname, stack_values
from mlinfra.k8s.prometheus_adapter import exposed_metrics, gpu_adapter_rules
from mlinfra.offline.render import StackConfig, build_render, render_environment, run_program
from mlinfra.spec import load_environment
from mlinfra.spec.monitoring import MonitoringSpec, duration_seconds

BASE: dict[str, Any] = {
    "environment": "test",
    "clusters": [{"name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
                  "pools": [{"name": "l4", "gpu": "L4-24GB", "max_nodes": 2}]}],
}


def env(monitoring: dict[str, Any] | None = None, scheduler: str = "kueue") -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    out["clusters"][0]["scheduler"] = scheduler
    if monitoring is not None:
        out["monitoring"] = monitoring
    return out


VALID = [
    ("defaults", env()),
    ("disabled", env({"enabled": False})),
    ("long retention, big disk", env({"retention": "90d", "storage_gib": 2000, "storage_class": "ssd"})),
    ("compound durations", env({"retention": "1w2d", "alerts": {"gpu_idle_for": "1h30m"}})),
    ("pending window ignored without Kueue", env({"retention": "2h", "alerts": {"gpu_idle_for": "1h",
                                                  "workloads_pending_for": "3h"}}, scheduler="volcano")),
    ("no adapter", env({"autoscaling": False})),
]


@pytest.mark.parametrize(("case", "spec"), VALID, ids=[c for c, _ in VALID])
def test_valid_monitoring_specs_load(case, spec):
    assert load_environment(spec).monitoring.enabled == spec.get("monitoring", {}).get("enabled", True)


INVALID = [
    ("unknown field", env({"retention_days": 3}), "monitoring.retention_days", "unknown field"),
    ("bad duration", env({"retention": "15 days"}), "monitoring.retention",
     "must be a Prometheus duration such as 30m, 1h or 15d"),
    ("zero duration", env({"alerts": {"gpu_idle_for": "0s"}}), "monitoring.alerts.gpu_idle_for",
     "longer than zero"),
    ("percent above 100", env({"alerts": {"gpu_memory_full_percent": 120}}),
     "monitoring.alerts.gpu_memory_full_percent", "less than or equal to 100"),
    ("zero storage", env({"storage_gib": 0}), "monitoring.storage_gib", "greater than or equal to 1"),
    ("retention under one block", env({"retention": "1h"}), "monitoring.retention", "must be at least 2h"),
    ("idle window past retention", env({"retention": "3h", "alerts": {"gpu_idle_for": "4h"}}),
     "monitoring.alerts.gpu_idle_for", "must not be longer than monitoring.retention (3h)"),
    ("pending window past retention", env({"retention": "2h", "alerts": {"workloads_pending_for": "3h"}}),
     "monitoring.alerts.workloads_pending_for", "must not be longer than monitoring.retention (2h)"),
]


@pytest.mark.parametrize(("case", "spec", "path", "message"), INVALID, ids=[c for c, *_ in INVALID])
def test_invalid_monitoring_specs_are_refused(case, spec, path, message):
    assert_refused(spec, path, message)


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("1h30m", 5400), ("15d", 1296000), ("500ms", 0.5)])
def test_duration_seconds(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(("release", "override", "fullname"), [
    ("kube-prometheus-stack", "", "kube-prometheus-stack"),
    ("monitoring", "", "monitoring-kube-prometheus"),  # cut at 26 characters, trailing '-' dropped
    ("my-kube-prometheus-stack-prod", "", "my-kube-prometheus-stack-p"),
    ("x", "kps", "kps"),
])
def test_stack_fullname_follows_the_chart_template(release, override, fullname):
    assert stack_fullname(release, fullname_override=override) == fullname


def test_stack_values_select_every_monitor_and_keep_the_disk_from_filling():
    values = stack_values(MonitoringSpec(storage_gib=100), "prod", "eks")
    spec = values["prometheus"]["prometheusSpec"]
    assert {k: v for k, v in spec.items() if k.endswith("NilUsesHelmValues")} == {
        "serviceMonitorSelectorNilUsesHelmValues": False, "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False, "probeSelectorNilUsesHelmValues": False,
        "scrapeConfigSelectorNilUsesHelmValues": False}
    assert spec["retentionSize"] == "85GiB" and retention_size(1) == "1GiB"
    assert spec["externalLabels"] == {"cluster": "eks", "environment": "prod"}
    # The password only lives in the generated Secret; the values name it and never carry it.
    assert "adminPassword" not in values["grafana"]
    assert values["grafana"]["admin"] == {"existingSecret": "grafana-admin", "userKey": "admin-user",
                                          "passwordKey": "admin-password"}


def test_only_the_monitoring_namespace_is_privileged():
    labels = namespace_manifest()["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


ADAPTER_RULES = [
    ("explicit as", [{"seriesQuery": "DCGM_FI_DEV_GPU_UTIL{x!=''}", "name": {"matches": "^DCGM_FI_DEV_GPU_UTIL$",
                                                                         "as": "gpu_utilization"}}],
     {"gpu_utilization"}),
    ("capture group default", [{"seriesQuery": "http_requests_total", "name": {"matches": "^(.*)_total$"}}],
     {"http_requests"}),
    ("capture group in as", [{"seriesQuery": "foo_seconds_total", "name": {"matches": "^(.*)_seconds_total$",
                                                                           "as": "${1}_per_second"}}],
     {"foo_per_second"}),
    ("no name block", [{"seriesQuery": "queue_depth{job='q'}"}], {"queue_depth"}),
    ("matches does not hit", [{"seriesQuery": "foo", "name": {"matches": "^bar$", "as": "x"}}], set()),
    ("name regex series cannot be known", [{"seriesQuery": '{__name__=~"^DCGM_.*"}'}], set()),
]


@pytest.mark.parametrize(("case", "rules", "exposed"), ADAPTER_RULES, ids=[c for c, *_ in ADAPTER_RULES])
def test_exposed_metrics(case, rules, exposed):
    assert exposed_metrics(rules) == exposed


@pytest.mark.parametrize(("metric", "ok"), [("gpu_utilization", True), ("gpu_memory_used_percent", True),
                                            ("DCGM_FI_DEV_GPU_UTIL", False), ("gpu_util", False)])
def test_hpa_metric_must_be_served_by_the_adapter(metric, ok):
    problems = hpa_metric_problems(metric, gpu_adapter_rules(), path="args.metric")
    if ok:
        assert problems == []
    else:
        assert [(p.path, p.value) for p in problems] == [("args.metric", metric)]
        assert "not served by the prometheus-adapter rules; use one of: gpu_memory_used_percent, gpu_utilization" \
            in problems[0].message


def _render_hpa(**changes: Any) -> dict[str, str]:
    from mlinfra.k8s.gpu_hpa import GpuUtilizationHpa, GpuUtilizationHpaArgs

    def program() -> None:
        args = GpuUtilizationHpaArgs(deployment="infer", namespace="research", max_replicas=6, **changes)
        GpuUtilizationHpa("infer", args)

    return build_render(run_program(program, StackConfig("team", "test", {}, [])))


def test_gpu_utilization_hpa_renders_a_pods_metric_hpa():
    files = _render_hpa(target_utilization_percent=60)
    hpa = yaml.safe_load(files["manifests/_default/research/HorizontalPodAutoscaler-infer.yaml"])
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "infer"}
    assert hpa["spec"]["metrics"] == [{"type": "Pods", "pods": {"metric": {"name": "gpu_utilization"},
                                                                "target": {"type": "AverageValue",
                                                                           "averageValue": "60"}}}]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 6)


def test_gpu_utilization_hpa_refuses_a_metric_no_rule_serves():
    from mlinfra.problems import InputError

    with pytest.raises(InputError) as err:
        _render_hpa(metric="gpu_temperature")
    assert "gpu_temperature" in str(err.value) and "use one of: gpu_memory_used_percent, gpu_utilization" \
        in str(err.value)


def test_render_creates_a_generated_grafana_password_and_no_plain_secret():
    files = render_environment(env())
    resources = files["resources.json"]
    assert '"random:index/randomPassword:RandomPassword"' in resources
    secret = yaml.safe_load(files["manifests/gke/monitoring/Secret-grafana-admin.yaml"])
    # Masked as a whole map or per key, depending on the render; the password never shows.
    data = secret["stringData"]
    # The render hides each value and keeps the keys, so the Secret stays a valid object.
    assert data == {"admin-user": "[secret]", "admin-password": "[secret]"}
    dashboards = [p for p in files if p.startswith("manifests/gke/monitoring/ConfigMap-dashboard-")]
    assert len(dashboards) == 2
    for path in dashboards:
        assert yaml.safe_load(files[path])["metadata"]["labels"] == {"grafana_dashboard": "1"}
    assert {"helm/gke/kube-prometheus-stack.yaml", "helm/gke/prometheus-adapter.yaml"} <= set(files)


@pytest.mark.parametrize(("monitoring", "expected"), [
    ({"enabled": False}, set()),
    ({"autoscaling": False}, {"kube-prometheus-stack"}),
    ({}, {"kube-prometheus-stack", "prometheus-adapter"}),
])
def test_releases_follow_the_spec(monitoring, expected):
    files = render_environment(env(monitoring))
    releases = {p.split("/")[-1].removesuffix(".yaml") for p in files if p.startswith("helm/gke/")}
    assert releases & {"kube-prometheus-stack", "prometheus-adapter"} == expected
