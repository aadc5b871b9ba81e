"""`mlinfra validate DIR`: offline contract validation of a render (manifests and Helm values).

Built-in kinds are checked against kubernetes-validate's strict schemas, custom resources against the CRDs of the
pinned upstream versions (structural schema, list types, CEL rules), Helm values against the chart's defaults.
A rule that cannot be evaluated is reported as not checked, never as passed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from mlinfra.offline import helm_values, objmeta
from mlinfra.offline.crds import CrdIndex, crd_index
from mlinfra.offline.k8s_builtin import CLUSTER_SCOPED, BuiltinSchemas
from mlinfra.offline.report import NotChecked, Problem, Report, json_path
from mlinfra.offline.structural import Findings, Node, Walker, compile_schema
from mlinfra.offline.upstream import ContractsNotFoundError, contracts_dir

__all__ = ["ContractsNotFoundError", "NotChecked", "Problem", "Report", "Validator", "contracts_dir", "main",
           "validate_dir", "validate_objects"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CLUSTER_DIR = "_cluster"  # the render's folder for cluster-scoped objects


def object_label(obj: Any, path_namespace: str | None = None) -> str:
    """`Kind/namespace/name`, with `_cluster` as the namespace of cluster-scoped objects."""
    if not isinstance(obj, dict):
        return "?/?/?"
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    namespace = meta.get("namespace") or path_namespace or CLUSTER_DIR
    return f"{obj.get('kind', '?')}/{namespace}/{meta.get('name') or meta.get('generateName') or '?'}"


class Validator:
    """Validators for one CRD folder and Kubernetes version; every schema is compiled once and reused.

    Use `validator_for()` to share one per process.
    """

    def __init__(self, crds_dir: Path, kubernetes_version: str = "1.33") -> None:
        self.crds_dir = Path(crds_dir)
        if not self.crds_dir.is_dir():
            raise ContractsNotFoundError(f"contracts folder {self.crds_dir} does not exist")
        self.kubernetes_version = kubernetes_version
        self.builtins = BuiltinSchemas(kubernetes_version)
        self._index: CrdIndex | None = None
        self._nodes: dict[tuple[str, str, str], Node] = {}

    @property
    def index(self) -> CrdIndex:
        """The CRD index, built on first use (a render with only built-in kinds never scans the folder)."""
        if self._index is None:
            self._index = crd_index(self.crds_dir)
        return self._index

    def validate_object(self, obj: Any, file: str = "<object>", path_namespace: str | None = None,
                        allow_kinds: Iterable[str] = (), in_render: bool = True) -> Report:
        """Validate one manifest. `path_namespace` is the namespace folder it was read from (None: `_cluster`
        or not from a render). `in_render=False` (a user's folder of manifests): a namespaced object without
        `metadata.namespace` is fine, as `kubectl apply -f` puts it in the current namespace."""
        report = Report(objects=1)
        label = object_label(obj, path_namespace)

        def add(parts: Sequence[str | int], message: str) -> None:
            report.problems.append(Problem(file, label, json_path(parts), message))

        if not isinstance(obj, dict) or not isinstance(obj.get("apiVersion"), str) or not isinstance(
                obj.get("kind"), str):
            add((), "not a Kubernetes object: apiVersion and kind (strings) are required")
            return report
        api_version, kind = obj["apiVersion"], obj["kind"]
        group, _, version = api_version.rpartition("/")
        crd = self.index.find(group, kind) if group and "." in group else None
        if crd is not None:
            served = crd.served_versions
            if version not in served:
                add(("apiVersion",), f"{kind} version {version!r} is not served by the CRD in {crd.source.name} "
                                     f"(served: {', '.join(served) or 'none'})")
                return report
            namespaced = crd.scope == "Namespaced"
            for parts, message in objmeta.check_metadata(obj.get("metadata"), kind, group, namespaced, True):
                add(parts, message)
            if in_render:
                self._scope(obj, kind, namespaced, path_namespace, add)
            findings = Findings()
            Walker(findings).check(self._node(crd.group, version, kind, crd.versions[version].schema), obj, (),
                                   root=True)
            for parts, message in findings.errors:
                add(parts, message)
            for parts, rule, reason in findings.not_checked:
                report.not_checked.append(NotChecked(file, label, json_path(parts), rule, reason))
            report.transition_rules_skipped += findings.transition_rules_skipped
            report.cel_rules_evaluated += findings.cel_rules_evaluated
            return report
        builtin = self.builtins.validate(obj)
        if builtin is not None:
            for parts, message in builtin:
                add(parts, message)
            namespaced = kind not in CLUSTER_SCOPED
            for parts, message in objmeta.check_metadata(obj.get("metadata"), kind, group, namespaced, False):
                add(parts, message)
            if in_render:
                self._scope(obj, kind, namespaced, path_namespace, add)
            return report
        allowed = set(allow_kinds)
        if kind in allowed or f"{api_version}/{kind}" in allowed or f"{group}/{kind}" in allowed:
            for parts, message in objmeta.check_metadata(obj.get("metadata"), kind, group, None, False):
                add(parts, message)
            return report
        add(("kind",), self._no_schema_message(api_version, group, kind))
        return report

    def _no_schema_message(self, api_version: str, group: str, kind: str) -> str:
        others = [g for g, k in self.index.kinds() if k == kind and g != group]
        hint = f"; the CRD folder has {kind} in group {', '.join(others)}" if others else ""
        return (f"no schema for {api_version} {kind}: not a built-in kind of Kubernetes {self.kubernetes_version} "
                f"and no CRD for it in {self.crds_dir}{hint} (pass --allow-kind {kind} to accept it unchecked)")

    @staticmethod
    def _scope(obj: dict[str, Any], kind: str, namespaced: bool, path_namespace: str | None, add: Any) -> None:
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        namespace = meta.get("namespace")
        if namespaced and not namespace and not path_namespace:
            add(("metadata", "namespace"), f"{kind} is namespaced: set metadata.namespace (or render it under a "
                                           "namespace folder)")
        if namespaced and namespace and path_namespace and namespace != path_namespace:
            add(("metadata", "namespace"), f"namespace {namespace!r} differs from the folder it was rendered to "
                                           f"({path_namespace!r})")
        if not namespaced and path_namespace:
            add(("metadata", "namespace"), f"{kind} is cluster-scoped but was rendered under namespace folder "
                                           f"{path_namespace!r}")

    def _node(self, group: str, version: str, kind: str, schema: dict[str, Any]) -> Node:
        key = (group, version, kind)
        if key not in self._nodes:
            self._nodes[key] = compile_schema(schema)
        return self._nodes[key]

    def validate_helm_release(self, release: Any, file: str = "<release>") -> Report:
        """Validate one `helm/<cluster>/<release>.yaml` mapping (chart, repository, version, namespace, values)."""
        report = Report(objects=1)
        name = Path(file).stem
        label = f"HelmRelease/{release.get('namespace', '?') if isinstance(release, dict) else '?'}/{name}"
        if not isinstance(release, dict) or not release.get("chart") or not release.get("version"):
            report.problems.append(Problem(file, label, "$", "a Helm release needs chart, version and values"))
            return report
        # An OCI chart reference carries the registry path (`oci://<registry>/<path>/<chart>`): use its last part.
        chart_name = str(release["chart"]).rsplit("/", 1)[-1]
        chart = helm_values.find_chart(self.crds_dir.resolve(), chart_name, str(release["version"]))
        if isinstance(chart, str):
            report.not_checked.append(NotChecked(file, label, "$.values", f"values of {release['chart']}", chart))
            return report
        findings = helm_values.check_release_values(chart, release.get("values"))
        for parts, message in findings.errors:
            report.problems.append(Problem(file, label, json_path(parts), message))
        for parts, what, reason in findings.not_checked:
            report.not_checked.append(NotChecked(file, label, json_path(parts), what, reason))
        report.free_form.extend(f"{file}: {note}" for note in findings.free_form)
        return report


@lru_cache(maxsize=8)
def validator_for(crds_dir: Path, kubernetes_version: str = "1.33") -> Validator:
    """A shared Validator per (CRD folder, Kubernetes version)."""
    return Validator(crds_dir, kubernetes_version)


def validate_objects(objs: Iterable[Any], crds_dir: str | Path | None = None, kubernetes_version: str = "1.33",
                     allow_kinds: Iterable[str] = ()) -> Report:
    """Validate in-memory manifests (dicts), e.g. what a component's pure functions return.

    Each object must carry its namespace in metadata if its kind is namespaced. Problems name the object's
    position as the file (`<objects>[3]`).
    """
    validator = validator_for(contracts_dir(crds_dir), kubernetes_version)
    allow = tuple(allow_kinds)
    report = Report()
    for i, obj in enumerate(objs):
        report.extend(validator.validate_object(obj, f"<objects>[{i}]", None, allow))
    return report


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")  # what `kubectl apply -f DIR` reads


def _documents(file: Path, shown: str, report: Report) -> list[Any] | None:
    """The objects of one manifest file: every YAML document (JSON is YAML), `kind: List` expanded as kubectl
    does. None (and a problem in `report`) when the file is not valid YAML."""
    try:
        docs = [d for d in yaml.load_all(file.read_text(), Loader=_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        report.objects += 1
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        report.problems.append(Problem(shown, "?/?/?", "$", f"not valid YAML{where}: "
                                                            f"{getattr(exc, 'problem', None) or exc}"))
        return None
    out: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out.extend(doc["items"])
        else:
            out.append(doc)
    return out


def _validate_render(root: Path, validator: Validator, allow: tuple[str, ...]) -> Report:
    """A render: `manifests/<cluster>/<namespace|_cluster>/*.yaml` (the folder names the namespace) and
    `helm/<cluster>/*.yaml`."""
    report = Report()
    for file in sorted((root / "manifests").rglob("*.y*ml")):
        rel = file.relative_to(root / "manifests").parts
        namespace_dir = rel[1] if len(rel) >= 3 else None
        path_namespace = None if namespace_dir in (None, CLUSTER_DIR) else namespace_dir
        shown = str(root / "manifests" / Path(*rel))
        docs = _documents(file, shown, report)
        for doc in docs or []:
            report.extend(validator.validate_object(doc, shown, path_namespace, allow))
    for file in sorted((root / "helm").rglob("*.y*ml")):
        shown = str(root / "helm" / file.relative_to(root / "helm"))
        try:
            release = yaml.load(file.read_text(), Loader=_LOADER)
        except yaml.YAMLError as exc:
            report.objects += 1
            report.problems.append(Problem(shown, f"HelmRelease/?/{file.stem}", "$", f"not valid YAML: {exc}"))
            continue
        report.extend(validator.validate_helm_release(release, shown))
    if (root / "resources.json").exists():
        report.extend(validate_provider_inputs(root / "resources.json"))
    return report


def validate_provider_inputs(path: Path) -> Report:
    """Every resource of a render's `resources.json` against its SDK's input types (see
    `mlinfra.offline.provider_inputs`): unknown keys at any depth, missing required inputs, wrong types."""
    import json

    from mlinfra.offline.provider_inputs import check_records

    report = Report()
    text = path.read_text()
    if not text.strip():
        return report  # an empty placeholder (a render of manifests only): nothing to check
    try:
        records = json.loads(text)
    except ValueError as exc:
        report.problems.append(Problem(str(path), "?", "$", f"not valid JSON: {exc}"))
        return report
    found = check_records(records)
    report.resources_checked = found.checked
    for p in found.problems:
        report.problems.append(Problem(str(path), f"{p.type}/{p.resource}", f"$.{p.path}", p.message))
    return report


def validate_dir(path: str | Path, crds_dir: str | Path | None = None, kubernetes_version: str = "1.33",
                 allow_kinds: Iterable[str] = ()) -> Report:
    """Validate manifests: a render directory (`manifests/...` and `helm/...`, see `_validate_render`), or any
    folder or file of manifests as `kubectl apply -f` and kubeconform take them (`.yaml`, `.yml`, `.json`, any
    depth, several documents per file, `kind: List`).

    A render that `mlinfra render` marked refused (`REFUSED.md`) and a folder without a single object are
    problems, never a pass. FileNotFoundError when `path` or the CRD folder does not exist.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist")
    validator = validator_for(contracts_dir(crds_dir), kubernetes_version)
    allow = tuple(allow_kinds)
    if root.is_dir() and (root / "REFUSED.md").is_file():
        report = Report()
        report.problems.append(Problem(str(root / "REFUSED.md"), "-", "$", "the last render of this stack was "
                                       "refused: this folder holds no current render (see REFUSED.md)"))
        return report
    if root.is_dir() and ((root / "manifests").is_dir() or (root / "helm").is_dir()):
        report = _validate_render(root, validator, allow)
    else:
        report = Report()
        files = [root] if root.is_file() else sorted(
            f for f in root.rglob("*") if f.is_file() and f.suffix in MANIFEST_SUFFIXES
            and not any(part.startswith(".") for part in f.relative_to(root).parts))
        for file in files:
            for doc in _documents(file, str(file), report) or []:
                report.extend(validator.validate_object(doc, str(file), None, allow, in_render=False))
    if report.objects == 0:
        report.problems.append(Problem(str(root), "-", "$", "no Kubernetes manifests found (.yaml, .yml or .json "
                                                            "files with apiVersion and kind)"))
    return report


def report_json(report: Report) -> str:
    """The report as JSON: `{ok, objects, problems: [{file, object, path, message}], not_checked: [...], ...}`."""
    import json
    from dataclasses import asdict

    return json.dumps({
        "ok": report.ok,
        "objects": report.objects,
        "problems": [asdict(p) for p in report.problems],
        "not_checked": [asdict(n) for n in report.not_checked],
        "cel_rules_evaluated": report.cel_rules_evaluated,
        "transition_rules_skipped": report.transition_rules_skipped,
        "free_form": report.free_form,
    }, indent=1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlinfra validate",
        description="Validate a render directory offline: built-in kinds against the Kubernetes schemas, custom "
                    "resources against the pinned CRDs (including CEL rules), Helm values against the charts.")
    parser.add_argument("dir", metavar="DIR", help="a render directory (from `mlinfra render`), or any folder or "
                                                   "file of Kubernetes manifests (multi-document YAML, JSON)")
    parser.add_argument("--crds", metavar="PATH", default=None,
                        help="folder of the pinned upstream CRDs and chart values (default: $MLINFRA_UPSTREAM, "
                             "else the cache `mlinfra upstream fetch` fills)")
    parser.add_argument("--kubernetes-version", default="1.33", metavar="1.NN",
                        help="Kubernetes version of the built-in schemas (default: 1.33)")
    parser.add_argument("--allow-kind", action="append", default=[], metavar="KIND",
                        help="accept objects of KIND (or group/KIND) without a schema; repeatable")
    parser.add_argument("--output", choices=["text", "json"], default="text", help="output format (default: text)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `mlinfra validate`; 0 when clean, 1 on errors (a refused render and a folder without manifests are
    errors), 2 on usage errors (missing DIR or CRD folder)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad arguments; the caller wants a code
        return int(exc.code or 0)
    if not Path(args.dir).exists():
        print(f"mlinfra validate: {args.dir} does not exist (run `mlinfra render` first, or name a folder of "
              "manifests)", file=sys.stderr)
        return 2
    try:
        crds = contracts_dir(args.crds)
    except ContractsNotFoundError as exc:
        print(f"mlinfra validate: {exc}", file=sys.stderr)
        return 2
    try:
        report = validate_dir(args.dir, crds, args.kubernetes_version, args.allow_kind)
    except ValueError as exc:  # e.g. a Kubernetes version kubernetes-validate does not ship
        print(f"mlinfra validate: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(report_json(report) + "\n" if args.output == "json" else report.format())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
