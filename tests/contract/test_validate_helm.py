"""Helm values against the pinned charts' default values.yaml and values.schema.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlinfra.offline.validate import validator_for

RELEASES = {
    "gpu-operator": ("v26.7.0", "gpu-operator"),
    "kueue": ("0.19.2", "kueue-system"),  # no leading v: matched on the folder name v0.19.2
    "kube-prometheus-stack": ("88.5.3", "monitoring"),
    "prometheus-adapter": ("5.3.0", "monitoring"),
    "volcano": ("v1.15.1", "volcano-system"),
    "fluid": ("v1.0.8", "fluid-system"),
    "karpenter": ("1.14.1", "kube-system"),  # Chart.yaml says 1.13.0 at the tag: the folder name counts
}


def _check(crds: Path, chart: str, values: dict[str, Any]) -> Any:
    version, namespace = RELEASES[chart]
    release = {"chart": chart, "repository": "oci://example", "version": version, "namespace": namespace,
               "values": values}
    return validator_for(crds).validate_helm_release(release, f"helm/prod/{chart}.yaml")


VALID = [
    ("gpu-operator", {"driver": {"enabled": False}, "mig": {"strategy": "mixed"},
                      "devicePlugin": {"config": {"name": "time-slicing-config", "default": "any"}},
                      "dcgmExporter": {"serviceMonitor": {"enabled": True}}}),
    ("gpu-operator", {"node-feature-discovery": {"worker": {"tolerations": [{"operator": "Exists"}]}}}),
    ("kueue", {"controllerManager": {"replicas": 2}}),
    ("kube-prometheus-stack", {"prometheus": {"prometheusSpec": {"retention": "15d",
                                                                  "ruleSelectorNilUsesHelmValues": False}}}),
    ("prometheus-adapter", {"prometheus": {"url": "http://kps-prometheus.monitoring.svc", "port": 9090},
                            "rules": {"default": False}}),
    ("karpenter", {"settings": {"clusterName": "ml-prod", "interruptionQueue": "ml-prod"}}),
    ("volcano", {}),
    ("fluid", {}),
]

# Free-form places: any key is accepted (see helm_values' module docstring for the rule).
FREE_FORM = [
    ("gpu-operator", {"daemonsets": {"labels": {"team": "ml", "cost-center": "42"}}}),  # default {}
    ("gpu-operator", {"operator": {"nodeSelector": {"node-role.kubernetes.io/system": "true"}}}),  # *Selector
    ("gpu-operator", {"operator": {"resources": {"requests": {"cpu": "200m"}, "limits": {"memory": "1Gi"}}}}),
    ("kube-prometheus-stack", {"grafana": {"any": {"thing": 1}}}),  # subchart not vendored: free-form
    ("kube-prometheus-stack", {"global": {"imageRegistry": "mirror.example"}}),
]

INVALID = [
    ("gpu-operator", {"driver": {"enable": False}}, "$.values.driver.enable", "did you mean 'enabled'?"),
    ("gpu-operator", {"migStrategy": "mixed"}, "$.values.migStrategy", "unknown key 'migStrategy'"),
    ("gpu-operator", {"node-feature-discovery": {"wrker": {}}}, "$.values['node-feature-discovery'].wrker",
     "chart node-feature-discovery 0.19.0"),
    ("gpu-operator", {"node-feature-discovery": {"worker": {"port": "8080"}}},
     "$.values['node-feature-discovery'].worker.port", "values.schema.json: '8080' is not of type 'integer'"),
    ("kube-prometheus-stack", {"prometheus": {"prometheusSpec": {"retentionn": "15d"}}},
     "$.values.prometheus.prometheusSpec.retentionn", "did you mean 'retention'?"),
    ("kube-prometheus-stack", {"kubeStateMetrics": "disabled"}, "$.values.kubeStateMetrics",
     "chart default is a map"),
    ("gpu-operator", {"mig": {"strategy": {"mode": "mixed"}}}, "$.values.mig.strategy",
     "chart default is a string"),
    ("prometheus-adapter", {"rules": {"custom": {"seriesQuery": "x"}}}, "$.values.rules.custom",
     "chart default is a list"),
    ("kueue", {"controllerManager": {"manager": {"imagee": {}}}},
     "$.values.controllerManager.manager.imagee", "unknown key"),
]


@pytest.mark.parametrize(("chart", "values"), VALID + FREE_FORM, ids=[f"{c}-{i}" for i, (c, _) in
                                                                     enumerate(VALID + FREE_FORM)])
def test_known_and_free_form_keys_pass(chart: str, values: dict[str, Any], crds: Path) -> None:
    report = _check(crds, chart, values)
    assert report.problems == [], report.format()
    assert report.objects == 1


@pytest.mark.parametrize(("chart", "values", "path", "fragment"), INVALID, ids=[i[2] for i in INVALID])
def test_unknown_key_or_type_mismatch_fails(chart: str, values: dict[str, Any], path: str, fragment: str,
                                            crds: Path) -> None:
    report = _check(crds, chart, values)
    assert any(p.path == path and fragment in p.message for p in report.problems), report.format()
    assert report.problems[0].object == f"HelmRelease/{RELEASES[chart][1]}/{chart}"


def test_unvendored_subchart_is_recorded_as_free_form(crds: Path) -> None:
    report = _check(crds, "kube-prometheus-stack", {"grafana": {"adminPassword": "x"}})
    assert report.problems == [] and report.not_checked == []
    assert any("subchart grafana" in note for note in report.free_form)


def test_key_documented_only_in_a_comment_is_not_checked(crds: Path) -> None:
    # gpu-operator's values.yaml shows `#version: ""` under validator/operator as a comment only.
    report = _check(crds, "gpu-operator", {"validator": {"version": "v26.7.0"}})
    assert report.problems == []
    assert [n.path for n in report.not_checked] == ["$.values.validator.version"]


@pytest.mark.parametrize(("chart", "version", "reason"), [
    ("dcgm-exporter-typo", "4.8.2", "is not in"),
    ("kueue", "0.18.0", "version 0.18.0 is not in"),
])
def test_chart_not_in_folder_is_not_checked(chart: str, version: str, reason: str, crds: Path) -> None:
    release = {"chart": chart, "repository": "oci://x", "version": version, "namespace": "x", "values": {"a": 1}}
    report = validator_for(crds).validate_helm_release(release, "helm/prod/x.yaml")
    assert report.problems == []
    assert len(report.not_checked) == 1 and reason in report.not_checked[0].reason
