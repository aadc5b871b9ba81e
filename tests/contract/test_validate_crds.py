"""Custom resources against the pinned upstream CRDs: structural schema, list types and CEL rules."""

from __future__ import annotations

import copy
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlinfra.offline.validate import validate_objects

Edit = Callable[[dict[str, Any]], None]


def _parts(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)]


def _parent(obj: Any, path: str) -> tuple[Any, str | int]:
    parts = _parts(path)
    for part in parts[:-1]:
        obj = obj[part]
    return obj, parts[-1]


def set_(path: str, value: Any) -> Edit:
    """Set the value at a dotted path such as `spec.groups[0].name`."""
    def edit(obj: dict[str, Any]) -> None:
        parent, last = _parent(obj, path)
        parent[last] = copy.deepcopy(value)
    return edit


def dup(path: str, index: int = 0) -> Edit:
    """Append a copy of item `index` of the list at `path`: a duplicate list-map key or set item."""
    def edit(obj: dict[str, Any]) -> None:
        parent, last = _parent(obj, path)
        parent[last].append(copy.deepcopy(parent[last][index]))
    return edit


def delete(path: str) -> Edit:
    """Remove the key at `path`."""
    def edit(obj: dict[str, Any]) -> None:
        parent, last = _parent(obj, path)
        del parent[last]
    return edit


def both(*steps: Edit) -> Edit:
    """Apply several edits in order."""
    def edit(obj: dict[str, Any]) -> None:
        for step in steps:
            step(obj)
    return edit


# (kind, check, edit, expected JSON path, expected message fragment).
# check is one of: unknown-field, wrong-type, list-map, cel, scope, required.
# Families without a CEL rule or a list-map in their spec are listed in NOT_APPLICABLE below; those checks are
# covered by the families that have them.
CASES: list[tuple[str, str, Edit, str, str]] = [
    # Kueue
    ("ClusterQueue", "unknown-field", set_("spec.cohort", "gpu-pool"), "$.spec.cohort", 'unknown field "cohort"'),
    ("ClusterQueue", "wrong-type", set_("spec.resourceGroups[0].flavors[0].resources[2].nominalQuota", True),
     "$.spec.resourceGroups[0].flavors[0].resources[2].nominalQuota", "must be of type integer or string"),
    ("ClusterQueue", "list-map", dup("spec.resourceGroups[0].flavors"), "$.spec.resourceGroups[0].flavors[2]",
     'duplicate entry with key (name="h100-on-demand")'),
    ("ClusterQueue", "cel", delete("spec.resourceGroups[0].flavors[1].resources[2]"), "$.spec.resourceGroups[0]",
     "flavors must have the same number of resources as the coveredResources"),
    ("ClusterQueue", "cel", delete("spec.cohortName"), "$.spec",
     "borrowingLimit must be nil when cohort is empty"),
    ("ClusterQueue", "wrong-type", set_("spec.flavorFungibility.whenCanBorrow", "Borrow"),
     "$.spec.flavorFungibility.whenCanBorrow", "must be one of"),
    ("ResourceFlavor", "unknown-field", set_("spec.nodeLabel", {"a": "b"}), "$.spec.nodeLabel", "unknown field"),
    ("ResourceFlavor", "wrong-type", set_("spec.nodeLabels", ["h100"]), "$.spec.nodeLabels",
     "must be of type object"),
    ("ResourceFlavor", "cel", set_("spec.tolerations[0].tolerationSeconds", 30), "$.spec.tolerations",
     "effect must be 'NoExecute' when 'tolerationSeconds' is set"),
    ("LocalQueue", "unknown-field", set_("spec.cohort", "x"), "$.spec.cohort", "unknown field"),
    ("LocalQueue", "wrong-type", set_("spec.clusterQueue", 7), "$.spec.clusterQueue", "must be of type string"),
    ("LocalQueue", "scope", delete("metadata.namespace"), "$.metadata.namespace", "LocalQueue is namespaced"),
    ("Cohort", "unknown-field", set_("spec.parent", "root"), "$.spec.parent", "unknown field"),
    ("Cohort", "wrong-type", set_("spec.resourceGroups[0].coveredResources", "nvidia.com/gpu"),
     "$.spec.resourceGroups[0].coveredResources", "must be of type array"),
    ("Cohort", "list-map", dup("spec.resourceGroups[0].flavors[0].resources"),
     "$.spec.resourceGroups[0].flavors[0].resources[1]", 'duplicate entry with key (name="nvidia.com/gpu")'),
    ("Cohort", "cel", set_("spec.resourceGroups[0].coveredResources", ["nvidia.com/gpu", "cpu"]),
     "$.spec.resourceGroups[0]", "flavors must have the same number of resources"),
    ("WorkloadPriorityClass", "unknown-field", set_("spec", {"value": 1}), "$.spec", "unknown field"),
    ("WorkloadPriorityClass", "wrong-type", set_("value", "high"), "$.value", "must be of type integer"),
    ("WorkloadPriorityClass", "required", delete("value"), "$.value", "required field is missing"),
    # Volcano
    ("Queue", "unknown-field", set_("spec.deservedResources", {"cpu": "1"}), "$.spec.deservedResources",
     "unknown field"),
    ("Queue", "wrong-type", set_("spec.weight", "heavy"), "$.spec.weight", "must be of type integer"),
    ("Queue", "scope", set_("metadata.namespace", "default"), "$.metadata.namespace", "cluster-scoped"),
    # Karpenter
    ("NodePool", "unknown-field", set_("spec.template.spec.instanceTypes", ["p5.48xlarge"]),
     "$.spec.template.spec.instanceTypes", "unknown field"),
    ("NodePool", "wrong-type", set_("spec.weight", "10"), "$.spec.weight", "must be of type integer"),
    ("NodePool", "list-map", dup("spec.disruption.budgets[0].reasons"), "$.spec.disruption.budgets[0].reasons[2]",
     'duplicate value string "Empty"'),
    ("NodePool", "cel", set_("spec.template.metadata.labels", {"karpenter.sh/nodepool": "gpu"}),
     "$.spec.template.metadata.labels", 'label "karpenter.sh/nodepool" is restricted'),
    ("NodePool", "cel", set_("spec.template.spec.requirements[0].key", "kubernetes.io/hostname"),
     "$.spec.template.spec.requirements[0].key", 'label "kubernetes.io/hostname" is restricted'),
    ("NodePool", "required", delete("spec.disruption.consolidateAfter"), "$.spec.disruption.consolidateAfter",
     "required field is missing"),
    ("EC2NodeClass", "unknown-field", set_("spec.amiFamilyy", "AL2023"), "$.spec.amiFamilyy", "unknown field"),
    ("EC2NodeClass", "wrong-type", set_("spec.tags", ["team=ml"]), "$.spec.tags", "must be of type object"),
    ("EC2NodeClass", "cel", set_("spec.instanceProfile", "KarpenterNodeInstanceProfile"), "$.spec",
     "must specify exactly one of ['role', 'instanceProfile']"),
    ("EC2NodeClass", "cel", set_("spec.amiSelectorTerms[0].alias", "ubuntu@latest"),
     "$.spec.amiSelectorTerms[0].alias", "family is not supported"),
    ("NodeOverlay", "unknown-field", set_("spec.discount", "10%"), "$.spec.discount", "unknown field"),
    ("NodeOverlay", "wrong-type", set_("spec.weight", 1.5), "$.spec.weight", "must be of type integer"),
    ("NodeOverlay", "cel", set_("spec.price", "1.20"), "$.spec", "cannot set both 'price' and 'priceAdjustment'"),
    # Fluid
    ("Dataset", "unknown-field", set_("spec.mounts[0].region", "us-east-1"), "$.spec.mounts[0].region",
     "unknown field"),
    ("Dataset", "wrong-type", set_("spec.mounts[0].options", "region=us-east-1"), "$.spec.mounts[0].options",
     "must be of type object"),
    ("AlluxioRuntime", "unknown-field", set_("spec.workers", 3), "$.spec.workers", "unknown field"),
    ("AlluxioRuntime", "wrong-type", set_("spec.replicas", "three"), "$.spec.replicas", "must be of type integer"),
    ("AlluxioRuntime", "list-map", set_("spec.worker.resources.claims", [{"name": "gpu"}, {"name": "gpu"}]),
     "$.spec.worker.resources.claims[1]", 'duplicate entry with key (name="gpu")'),
    ("DataLoad", "unknown-field", set_("spec.target[0].replica", 1), "$.spec.target[0].replica", "unknown field"),
    ("DataLoad", "wrong-type", set_("spec.loadMetadata", "yes"), "$.spec.loadMetadata", "must be of type boolean"),
    ("DataLoad", "list-map", set_("spec.resources", {"claims": [{"name": "a"}, {"name": "a"}]}),
     "$.spec.resources.claims[1]", 'duplicate entry with key (name="a")'),
    # GPU operator
    ("NVIDIADriver", "unknown-field", set_("spec.driverVersion", "580"), "$.spec.driverVersion", "unknown field"),
    ("NVIDIADriver", "wrong-type", set_("spec.default", "true"), "$.spec.default", "must be of type boolean"),
    ("NVIDIADriver", "cel", set_("spec.nodeSelector", {"nvidia.com/gpu.product": "H100"}), "$.spec",
     "default NVIDIADriver must not use nodeSelector"),
    ("NVIDIADriver", "wrong-type", set_("spec.driverType", "cuda"), "$.spec.driverType", "must be one of"),
    # Prometheus operator
    ("ServiceMonitor", "unknown-field", set_("spec.endpoints[0].scrapeInterval", "15s"),
     "$.spec.endpoints[0].scrapeInterval", "unknown field"),
    ("ServiceMonitor", "wrong-type", set_("spec.endpoints", {"port": "gpu-metrics"}), "$.spec.endpoints",
     "must be of type array"),
    ("ServiceMonitor", "list-map", dup("spec.scrapeProtocols"), "$.spec.scrapeProtocols[2]",
     'duplicate value string "PrometheusProto"'),
    ("PodMonitor", "unknown-field", set_("spec.endpoints", []), "$.spec.endpoints", "unknown field"),
    ("PodMonitor", "wrong-type", set_("spec.podMetricsEndpoints[0].interval", 30),
     "$.spec.podMetricsEndpoints[0].interval", "must be of type string"),
    ("PrometheusRule", "unknown-field", set_("spec.groups[0].rules[0].severity", "critical"),
     "$.spec.groups[0].rules[0].severity", "unknown field"),
    ("PrometheusRule", "wrong-type", set_("spec.groups[0].rules[0].for", 5), "$.spec.groups[0].rules[0].for",
     "must be of type string"),
    ("PrometheusRule", "list-map", dup("spec.groups"), "$.spec.groups[2]",
     'duplicate entry with key (name="gpu.rules")'),
    ("PrometheusRule", "wrong-type", set_("spec.groups[0].rules[0].expr", ["a"]), "$.spec.groups[0].rules[0].expr",
     "must be of type integer or string"),
]

# What the pinned CRDs do not have, so the table above cannot test it for that family.
NOT_APPLICABLE = {
    ("ResourceFlavor", "list-map"): "no x-kubernetes-list-type map/set in spec",
    ("LocalQueue", "list-map"): "list-maps only in status",
    ("LocalQueue", "cel"): "its only rule (`self == oldSelf` on clusterQueue) is a transition rule",
    ("WorkloadPriorityClass", "list-map"): "no lists at all",
    ("WorkloadPriorityClass", "cel"): "no x-kubernetes-validations",
    ("Queue", "list-map"): "volcano Queue has no list types",
    ("Queue", "cel"): "volcano Queue has no x-kubernetes-validations",
    ("EC2NodeClass", "list-map"): "no list-map in spec (selector terms are atomic lists)",
    ("NodeOverlay", "list-map"): "list-maps only in status",
    ("Dataset", "list-map"): "no list-map in Dataset",
    ("Dataset", "cel"): "fluid CRDs have no x-kubernetes-validations",
    ("AlluxioRuntime", "cel"): "fluid CRDs have no x-kubernetes-validations",
    ("DataLoad", "cel"): "fluid CRDs have no x-kubernetes-validations",
    ("NVIDIADriver", "list-map"): "no list-map in spec",
    ("ServiceMonitor", "cel"): "prometheus-operator CRDs have no x-kubernetes-validations",
    ("PodMonitor", "cel"): "prometheus-operator CRDs have no x-kubernetes-validations",
    ("PodMonitor", "list-map"): "covered by ServiceMonitor's scrapeProtocols set (same type)",
    ("PrometheusRule", "cel"): "prometheus-operator CRDs have no x-kubernetes-validations",
}

FAMILIES = sorted({kind for kind, *_ in CASES})


@pytest.mark.parametrize("kind", FAMILIES)
def test_valid_custom_resource_passes(kind: str, crds: Path, valid_crs: dict[str, dict[str, Any]]) -> None:
    report = validate_objects([valid_crs[kind]], crds_dir=crds)
    assert report.problems == [], report.format()
    assert report.not_checked == [], report.format()
    assert report.objects == 1


@pytest.mark.parametrize(("kind", "check", "edit", "path", "fragment"), CASES,
                         ids=[f"{kind}-{check}-{path}" for kind, check, _, path, _ in CASES])
def test_invalid_custom_resource_fails_at_path(kind: str, check: str, edit: Edit, path: str, fragment: str,
                                               crds: Path, valid_crs: dict[str, dict[str, Any]]) -> None:
    obj = copy.deepcopy(valid_crs[kind])
    edit(obj)
    report = validate_objects([obj], crds_dir=crds)
    found = [(p.path, p.message) for p in report.problems]
    assert any(p == path and fragment in m for p, m in found), f"want {path}: ...{fragment}... in\n{report.format()}"


def test_every_family_covers_each_check_or_says_why() -> None:
    covered = {(kind, check) for kind, check, *_ in CASES}
    for kind in FAMILIES:
        for check in ("unknown-field", "wrong-type", "list-map", "cel"):
            assert (kind, check) in covered or (kind, check) in NOT_APPLICABLE, (kind, check)


def test_transition_rules_are_skipped_not_reported(crds: Path, valid_crs: dict[str, dict[str, Any]]) -> None:
    report = validate_objects([valid_crs["LocalQueue"], valid_crs["NodePool"]], crds_dir=crds)
    assert report.transition_rules_skipped >= 3  # clusterQueue == oldSelf, replicas and nodeClassRef on NodePool
    assert report.not_checked == []
    assert report.cel_rules_evaluated > 0


def test_cluster_policy_requires_the_operand_sections(crds: Path) -> None:
    obj = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"},
           "spec": {}}
    paths = {p.path for p in validate_objects([obj], crds_dir=crds).problems}
    assert {"$.spec.driver", "$.spec.toolkit", "$.spec.devicePlugin", "$.spec.dcgmExporter"} <= paths


@pytest.mark.parametrize(("api_version", "fragment"), [
    ("kueue.x-k8s.io/v1", "is not served"),
    ("kueue.x-k8s.io/v1beta1", None),  # deprecated but still served: no error from the version itself
])
def test_served_versions(api_version: str, fragment: str | None, crds: Path) -> None:
    obj = {"apiVersion": api_version, "kind": "LocalQueue", "metadata": {"name": "q", "namespace": "team"},
           "spec": {"clusterQueue": "cq"}}
    report = validate_objects([obj], crds_dir=crds)
    if fragment is None:
        assert report.problems == [], report.format()
    else:
        assert [p.path for p in report.problems] == ["$.apiVersion"] and fragment in report.problems[0].message


@pytest.mark.parametrize(("metadata", "path", "fragment"), [
    ({"name": "GPU_Flavor"}, "$.metadata.name", "RFC 1123 subdomain"),
    ({}, "$.metadata.name", "name or generateName is required"),
    ({"name": "h100", "labels": {"mlinfra.io/pool": 5}}, "$.metadata.labels['mlinfra.io/pool']", "must be a string"),
    ({"name": "h100", "labels": {"bad key!": "x"}}, "$.metadata.labels['bad key!']", "invalid label key"),
    ({"name": "h100", "labels": {"pool": "-h100"}}, "$.metadata.labels.pool", "invalid label value"),
    ({"name": "h100", "owner": "me"}, "$.metadata.owner", "unknown field"),
])
def test_object_metadata(metadata: dict[str, Any], path: str, fragment: str, crds: Path,
                         valid_crs: dict[str, dict[str, Any]]) -> None:
    obj = copy.deepcopy(valid_crs["ResourceFlavor"])
    obj["metadata"] = metadata
    report = validate_objects([obj], crds_dir=crds)
    assert any(p.path == path and fragment in p.message for p in report.problems), report.format()


def test_defaults_are_applied_before_cel(crds: Path, valid_crs: dict[str, dict[str, Any]]) -> None:
    # whenCanPreempt defaults to TryNextFlavor and whenCanBorrow to MayStopSearch; `preference` needs both to be
    # TryNextFlavor, so the rule must see the defaults to fail here.
    obj = copy.deepcopy(valid_crs["ClusterQueue"])
    obj["spec"]["flavorFungibility"] = {"preference": "BorrowingOverPreemption"}
    report = validate_objects([obj], crds_dir=crds)
    assert [(p.path, p.message[:30]) for p in report.problems] == [
        ("$.spec.flavorFungibility", "preference can only be set whe")], report.format()


def _tiny_crd(tmp_path: Path, rule: str, message_expression: str | None = None) -> Path:
    validation = f"                - rule: {rule!r}\n                  message: widget rule failed\n"
    if message_expression:
        validation += f"                  messageExpression: {message_expression!r}\n"
    (tmp_path / "widgets.yaml").write_text(textwrap.dedent("""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.example.com
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets}
          scope: Cluster
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    apiVersion: {type: string}
                    kind: {type: string}
                    metadata: {type: object}
                    spec:
                      type: object
                      properties:
                        size: {type: string}
                        gpus: {type: integer, format: int32}
                        free: {type: object, x-kubernetes-preserve-unknown-fields: true}
                      x-kubernetes-validations:
        """) + validation)
    return tmp_path


def _widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def test_rule_with_unimplemented_function_is_not_checked(tmp_path: Path) -> None:
    crds = _tiny_crd(tmp_path, "quantity(self.size).isGreaterThan(quantity('1Gi'))")
    report = validate_objects([_widget(size="2Gi")], crds_dir=crds)
    assert report.problems == []
    assert len(report.not_checked) == 1
    item = report.not_checked[0]
    assert item.path == "$.spec" and "quantity" in item.rule and "not available offline" in item.reason
    assert report.summary() == "validated 1 objects: 0 errors, 1 rules not checked"


def test_rule_evaluation_error_is_not_checked_never_passed(tmp_path: Path) -> None:
    crds = _tiny_crd(tmp_path, "self.missing == 'x'")
    report = validate_objects([_widget(size="1")], crds_dir=crds)
    assert report.problems == [] and len(report.not_checked) == 1
    assert "evaluation error" in report.not_checked[0].reason


@pytest.mark.parametrize(("rule", "spec", "ok"), [
    ("self.size.find('[0-9]+') == '16'", {"size": "16Gi"}, True),
    ("self.size.find('[0-9]+') == '16'", {"size": "8Gi"}, False),
    ("self.size.findAll('[0-9]').size() == 2", {"size": "16Gi"}, True),
    ("self.size.split('G')[0] == '16'", {"size": "16Gi"}, True),
    ("self.size.lowerAscii() == '16gi'", {"size": "16Gi"}, True),
    ("[1, 2, 3].isSorted() && [3, 1].sum() == 4", {"size": "x"}, True),
    ("self.gpus % 2 == 0", {"gpus": 8}, True),
    ("self.gpus % 2 == 0", {"gpus": 7}, False),
    ("has(self.free.anything) && self.free.anything.nested == 1", {"free": {"anything": {"nested": 1}}}, True),
])
def test_kubernetes_cel_functions(rule: str, spec: dict[str, Any], ok: bool, tmp_path: Path) -> None:
    report = validate_objects([_widget(**spec)], crds_dir=_tiny_crd(tmp_path, rule))
    assert report.not_checked == [], report.format()
    assert report.ok is ok, report.format()


def test_message_expression_is_used(tmp_path: Path) -> None:
    crds = _tiny_crd(tmp_path, "self.gpus <= 8", "'at most 8 GPUs per widget, got ' + string(self.gpus)")
    report = validate_objects([_widget(gpus=16)], crds_dir=crds)
    assert [p.message for p in report.problems] == ["at most 8 GPUs per widget, got 16"]


def test_int32_range_and_preserve_unknown_fields(tmp_path: Path) -> None:
    crds = _tiny_crd(tmp_path, "true")
    report = validate_objects([_widget(gpus=2**31, free={"any": {"thing": [1]}})], crds_dir=crds)
    assert [(p.path, "int32 range" in p.message) for p in report.problems] == [("$.spec.gpus", True)]


def test_kind_without_schema_is_an_error_unless_allowed(crds: Path) -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}}
    assert [p.path for p in validate_objects([obj], crds_dir=crds).problems] == ["$.kind"]
    assert validate_objects([obj], crds_dir=crds, allow_kinds=["Gizmo"]).problems == []
