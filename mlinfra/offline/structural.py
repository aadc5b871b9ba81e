"""Validate an object against a CRD's structural schema the way the API server does on create.

The schema is compiled once into `Node`s; one walk per object applies, in the API server's order: null pruning
and defaulting, types (with int-or-string), unknown fields (pruning as an error), value validations (enum,
pattern, lengths, ranges, int32/int64 formats, required), list types (`map` keys and `set` items unique),
embedded resources and `x-kubernetes-validations` CEL rules (see cel_k8s).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlinfra.offline import cel_k8s

Path = tuple[str | int, ...]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_TYPE_NAMES = {"object": "object", "array": "array", "string": "string", "integer": "integer",
               "number": "number", "boolean": "boolean"}


@dataclass
class Findings:
    """What one walk found: errors, rules not evaluated, and CEL counters."""

    errors: list[tuple[Path, str]] = field(default_factory=list)
    not_checked: list[tuple[Path, str, str]] = field(default_factory=list)  # (path, rule text, reason)
    transition_rules_skipped: int = 0
    cel_rules_evaluated: int = 0


class Node:
    """One compiled schema object. Only what validation reads is kept."""

    __slots__ = (
        "type", "nullable", "int_or_string", "preserve", "embedded", "properties", "additional", "items",
        "required", "enum", "pattern", "min_length", "max_length", "minimum", "maximum", "exclusive_minimum",
        "exclusive_maximum", "multiple_of", "min_items", "max_items", "unique_items", "min_properties",
        "max_properties", "format", "list_type", "map_keys", "rules", "defaults", "any_of", "all_of", "one_of",
        "not_", "closed", "pattern_text",
    )

    def __init__(self, schema: dict[str, Any]) -> None:
        self.type: str | None = schema.get("type")
        self.nullable = bool(schema.get("nullable"))
        self.int_or_string = bool(schema.get("x-kubernetes-int-or-string"))
        self.preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        self.embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        props = schema.get("properties")
        self.properties: dict[str, Node] | None = (
            {name: Node(sub) for name, sub in props.items()} if isinstance(props, dict) else None)
        additional = schema.get("additionalProperties")
        self.additional: Node | bool | None = Node(additional) if isinstance(additional, dict) else additional
        self.items: Node | None = Node(schema["items"]) if isinstance(schema.get("items"), dict) else None
        self.required: list[str] = list(schema.get("required") or [])
        self.enum: list[Any] | None = schema.get("enum")
        self.pattern, self.pattern_text = _compile_pattern(schema.get("pattern"))
        self.min_length = schema.get("minLength")
        self.max_length = schema.get("maxLength")
        self.minimum = schema.get("minimum")
        self.maximum = schema.get("maximum")
        self.exclusive_minimum = bool(schema.get("exclusiveMinimum"))
        self.exclusive_maximum = bool(schema.get("exclusiveMaximum"))
        self.multiple_of = schema.get("multipleOf")
        self.min_items = schema.get("minItems")
        self.max_items = schema.get("maxItems")
        self.unique_items = bool(schema.get("uniqueItems"))
        self.min_properties = schema.get("minProperties")
        self.max_properties = schema.get("maxProperties")
        self.format: str | None = schema.get("format")
        self.list_type: str | None = schema.get("x-kubernetes-list-type")
        self.map_keys: list[str] = list(schema.get("x-kubernetes-list-map-keys") or [])
        self.rules: list[dict[str, Any]] = list(schema.get("x-kubernetes-validations") or [])
        self.defaults: dict[str, Any] = {
            name: sub["default"] for name, sub in (props or {}).items()
            if isinstance(sub, dict) and "default" in sub}
        self.any_of = [Node(s) for s in schema.get("anyOf") or []]
        self.all_of = [Node(s) for s in schema.get("allOf") or []]
        self.one_of = [Node(s) for s in schema.get("oneOf") or []]
        self.not_: Node | None = Node(schema["not"]) if isinstance(schema.get("not"), dict) else None
        # The API server prunes every field a structural schema does not declare; with strict field
        # validation that is an error. An object is open only through additionalProperties or
        # x-kubernetes-preserve-unknown-fields.
        self.closed = (not self.preserve and self.additional in (None, False)
                       and (self.properties is not None or self.type == "object"))


def _compile_pattern(pattern: Any) -> tuple[re.Pattern[str] | None, str | None]:
    """(compiled, None), or (None, pattern) when Python's re cannot read this RE2 pattern."""
    if not isinstance(pattern, str):
        return None, None
    text = pattern.replace(r"\z", r"\Z")
    try:
        return re.compile(text), None
    except re.error:
        pass
    # RE2 accepts a flag group after the start (`^(?i)...`); Python only at the very start.
    if "(?i)" in text:
        try:
            return re.compile(text.replace("(?i)", ""), re.IGNORECASE), None
        except re.error:
            pass
    return None, pattern


def compile_schema(schema: dict[str, Any]) -> Node:
    """Compile an openAPIV3Schema once; validating many objects then only walks Nodes."""
    return Node(schema)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"string {json.dumps(text)}"
    return f"{type(value).__name__.replace('float', 'number').replace('int', 'integer')} {value}"


def _type_ok(node: Node, value: Any) -> bool:
    if node.int_or_string:
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    kind = node.type
    if kind is None:
        return True
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float)
    return True


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else (type(value).__name__, value)


class Walker:
    """One walk over one object. `value_only` is set inside anyOf/allOf/oneOf/not branches, which in a
    structural schema only add value validations: no pruning, defaulting or CEL there."""

    def __init__(self, findings: Findings, value_only: bool = False) -> None:
        self.findings = findings
        self.value_only = value_only

    def error(self, path: Path, message: str) -> None:
        """Record one error at `path`."""
        self.findings.errors.append((path, message))

    def check(self, node: Node, value: Any, path: Path, root: bool = False) -> Any:
        """Validate `value` at `path`; return it with defaults applied (the input is never modified)."""
        if value is None:
            if not node.nullable and not self.value_only:
                self.error(path, f"must be of type {node.type or 'value'}, not null")
            return value
        if not _type_ok(node, value):
            expected = "integer or string" if node.int_or_string else _TYPE_NAMES.get(str(node.type), node.type)
            self.error(path, f"must be of type {expected} (got {_describe(value)})")
            return value
        if isinstance(value, dict):
            value = self._object(node, value, path, root)
        elif isinstance(value, list):
            value = self._array(node, value, path)
        else:
            self._scalar(node, value, path)
        if node.enum is not None and value not in node.enum:
            allowed = ", ".join(json.dumps(v) for v in node.enum)
            self.error(path, f"unsupported value {_describe(value)}: must be one of {allowed}")
        self._junctors(node, value, path)
        if node.rules and not self.value_only:
            self._cel(node, value, path, root)
        return value

    def _object(self, node: Node, value: dict[str, Any], path: Path, root: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        props = node.properties or {}
        for key, item in value.items():
            child = props.get(key)
            if child is not None:
                if item is None and not child.nullable and not self.value_only:
                    continue  # the API server prunes null for non-nullable fields, then defaults them
                if root and key == "metadata":
                    out[key] = item  # ObjectMeta is checked by objmeta, not by the CRD's `type: object`
                    continue
                out[key] = self.check(child, item, (*path, key))
            elif isinstance(node.additional, Node):
                out[key] = self.check(node.additional, item, (*path, key))
            else:
                out[key] = item
                if self.value_only or not node.closed:
                    continue
                if (root or node.embedded) and key in ("apiVersion", "kind", "metadata"):
                    continue
                self.error((*path, key), f'unknown field "{key}" (not declared in the schema)')
        if not self.value_only:
            for key, default in node.defaults.items():
                if key not in out:
                    out[key] = self.check(props[key], json.loads(json.dumps(default)), (*path, key))
        for key in node.required:
            if key not in out:
                self.error((*path, key), "required field is missing")
        if node.min_properties is not None and len(out) < node.min_properties:
            self.error(path, f"must have at least {node.min_properties} properties (got {len(out)})")
        if node.max_properties is not None and len(out) > node.max_properties:
            self.error(path, f"must have at most {node.max_properties} properties (got {len(out)})")
        if node.embedded and not self.value_only:
            for key in ("apiVersion", "kind"):
                if not out.get(key):
                    self.error((*path, key), f"embedded resource needs {key}")
        return out

    def _array(self, node: Node, value: list[Any], path: Path) -> list[Any]:
        out = [self.check(node.items, item, (*path, i)) for i, item in enumerate(value)] if node.items else value
        if node.min_items is not None and len(out) < node.min_items:
            self.error(path, f"must have at least {node.min_items} items (got {len(out)})")
        if node.max_items is not None and len(out) > node.max_items:
            self.error(path, f"must have at most {node.max_items} items (got {len(out)})")
        if node.list_type == "map" and node.map_keys:
            seen: dict[Any, int] = {}
            for i, item in enumerate(out):
                if not isinstance(item, dict):
                    continue
                key = tuple(_hashable(item.get(k)) for k in node.map_keys)
                if key in seen:
                    shown = ", ".join(f"{k}={json.dumps(item.get(k))}" for k in node.map_keys)
                    self.error((*path, i), f"duplicate entry with key ({shown}): x-kubernetes-list-type map "
                                           f"keys must be unique (first at index {seen[key]})")
                else:
                    seen[key] = i
        elif node.list_type == "set" or node.unique_items:
            seen_values: dict[Any, int] = {}
            for i, item in enumerate(out):
                key = _hashable(item)
                if key in seen_values:
                    self.error((*path, i), f"duplicate value {_describe(item)}: items of a set must be unique "
                                           f"(first at index {seen_values[key]})")
                else:
                    seen_values[key] = i
        return out

    def _scalar(self, node: Node, value: Any, path: Path) -> None:
        if isinstance(value, str):
            if node.min_length is not None and len(value) < node.min_length:
                self.error(path, f"must be at least {node.min_length} characters long (got {len(value)})")
            if node.max_length is not None and len(value) > node.max_length:
                self.error(path, f"must be at most {node.max_length} characters long (got {len(value)})")
            if node.pattern is not None and not node.pattern.search(value):
                self.error(path, f"{_describe(value)} does not match pattern {node.pattern.pattern!r}")
            elif node.pattern_text is not None and not self.value_only:
                self.findings.not_checked.append(
                    (path, f"pattern {node.pattern_text}", "the RE2 pattern cannot be evaluated with Python's re"))
            if node.format == "date-time" and not _DATE_TIME.match(value):
                self.error(path, f"{_describe(value)} is not an RFC 3339 date-time")
            elif node.format == "byte":
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    self.error(path, f"{_describe(value)} is not base64")
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        bounds = {"int32": _INT32, "int64": _INT64}.get(node.format or "")
        if bounds and not bounds[0] <= value <= bounds[1]:
            self.error(path, f"{value} is out of the {node.format} range [{bounds[0]}, {bounds[1]}]")
        if node.minimum is not None and (value < node.minimum or (node.exclusive_minimum and value == node.minimum)):
            relation = ">" if node.exclusive_minimum else ">="
            self.error(path, f"must be {relation} {node.minimum} (got {value})")
        if node.maximum is not None and (value > node.maximum or (node.exclusive_maximum and value == node.maximum)):
            relation = "<" if node.exclusive_maximum else "<="
            self.error(path, f"must be {relation} {node.maximum} (got {value})")
        if node.multiple_of and (value / node.multiple_of) % 1:
            self.error(path, f"must be a multiple of {node.multiple_of} (got {value})")

    def _branch_ok(self, branch: Node, value: Any, path: Path) -> bool:
        probe = Findings()
        Walker(probe, value_only=True).check(branch, value, path)
        return not probe.errors

    def _junctors(self, node: Node, value: Any, path: Path) -> None:
        if node.any_of and not node.int_or_string and not any(self._branch_ok(b, value, path) for b in node.any_of):
            self.error(path, f"{_describe(value)} matches none of the anyOf alternatives")
        for branch in node.all_of:
            Walker(self.findings, value_only=True).check(branch, value, path)
        if node.one_of:
            matches = sum(self._branch_ok(b, value, path) for b in node.one_of)
            if matches != 1:
                self.error(path, f"{_describe(value)} must match exactly one oneOf alternative (matched {matches})")
        if node.not_ is not None and self._branch_ok(node.not_, value, path):
            self.error(path, f"{_describe(value)} matches a schema it must not match (not)")

    def _cel(self, node: Node, value: Any, path: Path, root: bool) -> None:
        cel_value: Any = None
        converted = False
        for rule in node.rules:
            text = rule.get("rule", "")
            if cel_k8s.is_transition_rule(text):
                self.findings.transition_rules_skipped += 1
                continue
            if not converted:
                cel_value, converted = to_cel(node, value, root), True
            outcome = cel_k8s.evaluate(rule, cel_value)
            if outcome.passed is None:
                self.findings.not_checked.append((path, text, outcome.reason or "not evaluated"))
                continue
            self.findings.cel_rules_evaluated += 1
            if outcome.passed:
                continue
            where = (*path, *parse_field_path(rule.get("fieldPath", "")))
            message = outcome.message or rule.get("message") or f"failed rule: {' '.join(text.split())}"
            reason = rule.get("reason")
            self.error(where, message + (f" ({reason})" if reason else ""))


def to_cel(node: Node | None, value: Any, root: bool = False) -> Any:
    """`value` as the API server types it for CEL: declared properties escaped, `number` fields as doubles,
    and at the root only metadata.name/generateName visible."""
    if node is None:
        return value
    if isinstance(value, dict):
        props = node.properties or {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            child = props.get(key)
            if root and key == "metadata" and isinstance(item, dict):
                out[key] = {k: v for k, v in item.items() if k in ("name", "generateName")}
            elif child is not None:
                out[cel_k8s.escape_property(key)] = to_cel(child, item)
            elif isinstance(node.additional, Node):
                out[key] = to_cel(node.additional, item)
            else:
                out[key] = item
        return out
    if isinstance(value, list):
        return [to_cel(node.items, item) for item in value] if node.items else value
    if node.type == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


_FIELD_PART = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def parse_field_path(text: str) -> Path:
    """A rule's `fieldPath` (`.spec.items[0]['a.b']`) as path parts; unparseable text gives ()."""
    if not text:
        return ()
    text = text if text.startswith((".", "[")) else "." + text
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _FIELD_PART.match(text, pos)
        if not match:
            return ()
        name, index, quoted = match.groups()
        parts.append(name if name is not None else int(index) if index is not None else quoted)
        pos = match.end()
    return tuple(parts)
