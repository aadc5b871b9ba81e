"""Built-in kinds against kubernetes-validate's strict schemas, plus the ObjectMeta and scope checks."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mlinfra.offline.k8s_builtin import BuiltinSchemas
from mlinfra.offline.validate import validate_objects

CONTAINER = "spec.template.spec.containers"


def _at(obj: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj[int(part)] if part.isdigit() else obj[part]
    return obj


def test_valid_builtins_pass(valid_builtins: dict[str, dict[str, Any]], crds: Path) -> None:
    report = validate_objects(list(valid_builtins.values()), crds_dir=crds)
    assert report.problems == [], report.format()
    assert report.objects == len(valid_builtins) >= 7


# (kind, parent of the edit, key, value, expected path, message fragment)
CASES = [
    ("Deployment", f"{CONTAINER}.0", "gpus", 1, "$.spec.template.spec.containers[0].gpus", 'unknown field "gpus"'),
    ("Deployment", "spec", "replica", 2, "$.spec.replica", 'unknown field "replica"'),
    ("Deployment", "spec", "replicas", "two", "$.spec.replicas", "is not of type 'integer'"),
    ("Deployment", f"{CONTAINER}.0", "ports", {"containerPort": 80}, "$.spec.template.spec.containers[0].ports",
     "is not of type 'array'"),
    ("Deployment", f"{CONTAINER}.0.resources.limits", "nvidia.com/gpu", [1],
     "$.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']", "is not valid under any"),
    ("HorizontalPodAutoscaler", "spec", "maxReplicas", "8", "$.spec.maxReplicas", "is not of type 'integer'"),
    ("PriorityClass", "", "preemptionPolicy", 3, "$.preemptionPolicy", "is not of type 'string'"),
    ("ClusterRole", "rules.0", "verb", ["get"], "$.rules[0].verb", 'unknown field "verb"'),
    ("ResourceQuota", "spec", "hard", ["nvidia.com/gpu"], "$.spec.hard", "is not of type 'object'"),
]


@pytest.mark.parametrize(("kind", "parent", "key", "value", "path", "fragment"), CASES,
                         ids=[f"{c[0]}-{c[4]}" for c in CASES])
def test_invalid_builtin_fails_at_path(kind: str, parent: str, key: str, value: Any, path: str, fragment: str,
                                       valid_builtins: dict[str, dict[str, Any]], crds: Path) -> None:
    obj = copy.deepcopy(valid_builtins[kind])
    (_at(obj, parent) if parent else obj)[key] = value
    report = validate_objects([obj], crds_dir=crds)
    assert any(p.path == path and fragment in p.message for p in report.problems), report.format()


@pytest.mark.parametrize(("kind", "edit", "path", "fragment"), [
    ("Deployment", lambda o: o["metadata"].pop("namespace"), "$.metadata.namespace", "Deployment is namespaced"),
    ("Namespace", lambda o: o["metadata"].update(namespace="default"), "$.metadata.namespace", "cluster-scoped"),
    ("Namespace", lambda o: o["metadata"].update(name="team.research"), "$.metadata.name", "RFC 1123 label"),
    ("ConfigMap", lambda o: o["metadata"].update(name="Time_Slicing"), "$.metadata.name", "RFC 1123 subdomain"),
])
def test_builtin_metadata_and_scope(kind: str, edit: Any, path: str, fragment: str,
                                    valid_builtins: dict[str, dict[str, Any]], crds: Path) -> None:
    obj = copy.deepcopy(valid_builtins[kind])
    edit(obj)
    report = validate_objects([obj], crds_dir=crds)
    assert any(p.path == path and fragment in p.message for p in report.problems), report.format()


def test_rbac_names_may_contain_colons(valid_builtins: dict[str, dict[str, Any]], crds: Path) -> None:
    assert ":" in valid_builtins["ClusterRole"]["metadata"]["name"]
    assert validate_objects([valid_builtins["ClusterRole"]], crds_dir=crds).problems == []


def test_validators_are_built_once_per_kind() -> None:
    schemas = BuiltinSchemas("1.33")
    first = schemas.validator("apps/v1", "Deployment")
    assert first is not None and schemas.validator("apps/v1", "Deployment") is first
    assert schemas.validator("example.com/v1", "Gizmo") is None


def test_unknown_kubernetes_version_is_refused() -> None:
    with pytest.raises(ValueError, match="shipped: .*1.33"):
        BuiltinSchemas("1.12")
