"""Check a Helm release's values against the chart's default values.yaml (and values.schema.json if any).

Helm silently ignores a key its templates never read, so a typo in values is a change that does nothing. The
rule, walking the release's values beside the chart defaults:

- A key the chart's values.yaml does not have is an error, unless the place is free-form (below). A key that
  appears only in a commented-out line of values.yaml, at the same place (nesting read from indentation), is
  reported as not checked: charts document optional keys that way, and only the templates (not vendored) could
  tell.
- Free-form places, where any key is accepted: a default of `null` or `{}`; a map whose default keys are not
  identifiers (label keys, resource names such as `nvidia.com/gpu`); keys whose names say they carry Kubernetes
  API objects or arbitrary maps (`*Labels`, `*Annotations`, `*Selector`, `resources`, `*SecurityContext`,
  `affinity`, probes, `env`, `extraArgs`, ... see FREE_FORM_NAME); `global`; and a subchart not vendored in the
  folder (listed in Report.free_form, neither checked nor reported).
- Lists are free-form: list items often carry Kubernetes objects (tolerations, volumes) whose optional fields a
  default example cannot show. Only a list-vs-map/scalar mismatch is checked.
- Type mismatches between a collection and a scalar are errors (a map where the default is a string, a string
  where the default is a map). Scalar-vs-scalar differences (`"1"` vs `1`) are not: templates quote freely.
- A key naming a subchart (Chart.yaml dependency name or alias, or a folder under `charts/`) is checked against
  the subchart's values.yaml and schema, merged with what the parent's values.yaml sets for it.
- values.schema.json, where present, validates the defaults merged with the release's values, as Helm does.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KEY_LINE = re.compile(r"^( *)(?:- +)?([A-Za-z_][A-Za-z0-9_./-]*|\"[^\"]+\"|'[^']+'):(?:\s|$)")
_COMMENTED_KEY_LINE = re.compile(r"^( *)#+( *)([A-Za-z_][A-Za-z0-9_./-]*):(?:\s|$)")
_IDENTIFIER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
FREE_FORM_NAME = re.compile(
    r"(?i)^(?:.*labels|.*annotations|.*selector|.*securitycontext|resources|.*resources|affinity|.*affinity"
    r"|tolerations|.*probe|env|extraenv|envvars|.*envs|extraargs|args|.*config(?:map)?data|data|stringdata"
    r"|extra.*|additional.*|custom.*|topologyspreadconstraints|volumes|volumemounts|.*volumes|.*volumemounts"
    r"|initcontainers|sidecars|containers|imagepullsecrets|hostaliases|dnsconfig|lifecycle|strategy"
    r"|updatestrategy|rollingupdate|podmetadata|global)$")

Path_ = tuple[str | int, ...]


@dataclass
class Chart:
    """One chart's defaults in the upstream folder."""

    name: str
    version: str  # the folder name (Chart.yaml at a git tag may carry a dev version)
    folder: Path
    values: Any
    schema: dict[str, Any] | None
    commented_keys: frozenset[tuple[str, ...]]  # paths of keys shown only in commented-out lines
    dependencies: dict[str, str]  # values key (alias or name) -> chart name
    subcharts: dict[str, Chart] = field(default_factory=dict)


@dataclass
class ValuesFindings:
    """Errors and unverifiable keys found in one release's values."""

    errors: list[tuple[Path_, str]] = field(default_factory=list)
    not_checked: list[tuple[Path_, str, str]] = field(default_factory=list)  # (path, what, reason)
    free_form: list[str] = field(default_factory=list)


def _norm_version(version: str) -> str:
    return str(version).strip().lstrip("vV")


def commented_key_paths(text: str) -> frozenset[tuple[str, ...]]:
    """Paths of keys that values.yaml shows only in comments (`#  metrics:` under `operator:` gives
    ("operator", "metrics")). Nesting comes from indentation; a commented key's indent is the `#` column plus
    the spaces after it, minus one (the usual `# ` prefix)."""
    stack: list[tuple[int, str]] = []
    found: set[tuple[str, ...]] = set()
    for line in text.splitlines():
        commented = _COMMENTED_KEY_LINE.match(line)
        if commented:
            indent = len(commented.group(1)) + max(0, len(commented.group(2)) - 1)
            key = commented.group(3)
        else:
            real = _KEY_LINE.match(line)
            if not real:
                continue
            indent, key = len(real.group(1)), real.group(2).strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = (*(k for _, k in stack), key)
        if commented:
            found.add(path)
        stack.append((indent, key))
    return frozenset(found)


def _load_chart(chart_yaml: Path, with_subcharts: bool) -> Chart | None:
    prefix = chart_yaml.name[: -len("Chart.yaml")]
    meta = yaml.load(chart_yaml.read_text(), Loader=_LOADER) or {}
    values_path = chart_yaml.with_name(prefix + "values.yaml")
    if not values_path.is_file():
        return None
    text = values_path.read_text()
    schema_path = chart_yaml.with_name(prefix + "values.schema.json")
    deps = {str(d.get("alias") or d.get("name")): str(d.get("name")) for d in meta.get("dependencies") or []
            if isinstance(d, dict) and d.get("name")}
    # Subcharts are named by their own Chart.yaml version; top-level charts by their folder (see find_chart).
    version = chart_yaml.parent.name if with_subcharts else str(meta.get("version", chart_yaml.parent.name))
    chart = Chart(
        name=str(meta.get("name", "")), version=version, folder=chart_yaml.parent,
        values=yaml.load(text, Loader=_LOADER) or {},
        schema=json.loads(schema_path.read_text()) if schema_path.is_file() else None,
        commented_keys=commented_key_paths(text), dependencies=deps)
    if with_subcharts and not prefix:
        for sub_yaml in sorted(chart_yaml.parent.glob("charts/*/Chart.yaml")):
            sub = _load_chart(sub_yaml, with_subcharts=False)
            if sub is not None:
                aliases = [key for key, name in deps.items() if name == sub.name] or [sub.name]
                for alias in aliases:
                    chart.subcharts[alias] = sub
    return chart


@lru_cache(maxsize=16)
def chart_files(folder: Path) -> tuple[Path, ...]:
    """Every top-level Chart.yaml (or `<prefix>.Chart.yaml`) in the folder; subcharts under charts/ excluded."""
    found = [p for p in folder.rglob("*Chart.yaml") if "charts" not in p.relative_to(folder).parts[:-1]]
    return tuple(sorted(found))


@lru_cache(maxsize=64)
def find_chart(folder: Path, name: str, version: str) -> Chart | str:
    """The chart `name` at `version` in `folder`, or the reason it is not there.

    Matched on the chart name (Chart.yaml `name`, or the project folder name) and on the version folder name,
    with or without a leading `v`; Chart.yaml's own `version` also counts, but is not trusted alone because
    some charts carry a dev version at their git tag.
    """
    wanted = _norm_version(version)
    seen_versions = []
    for chart_yaml in chart_files(folder):
        prefix = chart_yaml.name[: -len("Chart.yaml")]
        meta = yaml.load(chart_yaml.read_text(), Loader=_LOADER) or {}
        names = {str(meta.get("name")), prefix.rstrip(".")} | ({chart_yaml.parent.parent.name} if not prefix else set())
        if name not in names:
            continue
        seen_versions.append(chart_yaml.parent.name)
        if wanted in (_norm_version(chart_yaml.parent.name), _norm_version(str(meta.get("version", "")))):
            chart = _load_chart(chart_yaml, with_subcharts=True)
            if chart is None:
                return f"chart {name} {version} has no values.yaml in {chart_yaml.parent}"
            return chart
    if seen_versions:
        return f"chart {name} version {version} is not in {folder} (found {', '.join(sorted(seen_versions))})"
    return f"chart {name} is not in {folder}"


def _schema_at(schema: dict[str, Any] | None, root: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    if not isinstance(schema, dict):
        return None
    schema = _resolve(schema, root)
    sub = (schema.get("properties") or {}).get(key)
    return _resolve(sub, root) if isinstance(sub, dict) else None


def _resolve(schema: dict[str, Any], root: dict[str, Any] | None) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and root is not None:
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return node
    return schema


def _schema_open(schema: dict[str, Any] | None) -> bool:
    """The schema says any key is fine here."""
    return isinstance(schema, dict) and bool(schema.get("additionalProperties") or schema.get("patternProperties"))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return type(value).__name__.replace("str", "string").replace("int", "integer").replace("float", "number")


def _free_form_map(name: str | None, default: dict[str, Any]) -> bool:
    if not default:
        return True
    if name is not None and FREE_FORM_NAME.match(name):
        return True
    return any(not _IDENTIFIER_KEY.match(str(k)) for k in default)


class ValuesChecker:
    """Walks one release's values beside one chart's defaults."""

    def __init__(self, chart: Chart, findings: ValuesFindings) -> None:
        self.chart = chart
        self.findings = findings

    def check_release(self, values: Any, base: Path_ = ("values",)) -> None:
        """Check the release's `values` mapping (errors are reported under `base`)."""
        if values is None:
            return
        if not isinstance(values, dict):
            self.findings.errors.append((base, f"values must be a map (got {_kind(values)})"))
            return
        self._schema(values, base)
        defaults = self.chart.values if isinstance(self.chart.values, dict) else {}
        schema = self.chart.schema
        for key, value in values.items():
            path = (*base, key)
            if key == "global":
                continue
            sub = self.chart.subcharts.get(key)
            if sub is not None:
                sub_defaults = _merge(sub.values, defaults.get(key))
                parent_comments = {p[1:] for p in self.chart.commented_keys if len(p) > 1 and p[0] == key}
                merged_chart = Chart(sub.name, sub.version, sub.folder, sub_defaults, sub.schema,
                                     sub.commented_keys | parent_comments, sub.dependencies)
                ValuesChecker(merged_chart, self.findings).check_release(value, path)
                continue
            if key in self.chart.dependencies:
                self.findings.free_form.append(
                    f"{'.'.join(map(str, path))}: subchart {self.chart.dependencies[key]} not vendored in the "
                    "folder; its values are not checked")
                continue
            self._walk(key, value, defaults, schema, path, (key,))

    def _schema(self, values: dict[str, Any], base: Path_) -> None:
        if self.chart.schema is None:
            return
        validator = _schema_validator(self.chart.schema)
        merged = _merge(self.chart.values, values)
        for error in validator.iter_errors(merged):
            self.findings.errors.append(((*base, *error.absolute_path), "values.schema.json: " + error.message[:300]))

    def _walk(self, key: str, value: Any, parent_default: dict[str, Any], parent_schema: dict[str, Any] | None,
              path: Path_, rel: tuple[str, ...]) -> None:
        schema = _schema_at(parent_schema, self.chart.schema, key)
        if key not in parent_default:
            if schema is not None:
                return  # declared by values.schema.json, which validated it
            if rel in self.chart.commented_keys:
                self.findings.not_checked.append(
                    (path, f"key {key}", "the key appears only in a comment of the chart's values.yaml; "
                                         "whether the templates read it cannot be told offline"))
                return
            where = "at the top level" if len(rel) == 1 else "here"
            close = difflib.get_close_matches(key, [str(k) for k in parent_default], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.findings.errors.append(
                (path, f"unknown key {key!r}: chart {self.chart.name} {self.chart.version} has no such value "
                       f"{where}, so Helm would ignore it{hint}"))
            return
        default = parent_default[key]
        if value is None or default is None:
            return
        if isinstance(default, dict):
            if not isinstance(value, dict):
                self.findings.errors.append((path, f"chart default is a map; got {_kind(value)} {value!r}"[:300]))
                return
            if _free_form_map(key, default) or _schema_open(schema):
                return
            for sub_key, sub_value in value.items():
                self._walk(str(sub_key), sub_value, default, schema, (*path, sub_key), (*rel, str(sub_key)))
        elif isinstance(default, list):
            if not isinstance(value, list):
                self.findings.errors.append((path, f"chart default is a list; got {_kind(value)} {value!r}"[:300]))
        elif isinstance(value, dict | list):
            self.findings.errors.append(
                (path, f"chart default is a {_kind(default)} ({default!r}); got a {_kind(value)}"[:300]))


def _merge(base: Any, override: Any) -> Any:
    """Helm's coalescing of values: maps merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value) if value is not None else None
        return {k: v for k, v in out.items() if v is not None}
    return base if override is None else override


_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}


def _schema_validator(schema: dict[str, Any]) -> Any:
    """One jsonschema validator per loaded schema (the NFD one is 350 KB); the cache keeps the schema alive,
    so its id() stays unique."""
    import jsonschema

    cached = _VALIDATORS.get(id(schema))
    if cached is None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        cached = _VALIDATORS[id(schema)] = (schema, cls(schema))
    return cached[1]


def check_release_values(chart: Chart, values: Any) -> ValuesFindings:
    """Findings for one release's `values` against `chart`."""
    findings = ValuesFindings()
    ValuesChecker(chart, findings).check_release(values)
    return findings
