"""The provider input contract: every registered resource's inputs against its SDK's typed input classes.

The mock runtime accepts any input, so a misspelled nested argument (`enable_integrity_monitorin`) or a value
of the wrong type renders fine and fails only at `pulumi up`. The SDKs (pulumi-aws, pulumi-gcp,
pulumi-kubernetes, pulumi-random) are generated from the provider schemas: each resource type token maps to
an SDK class (`pulumi.runtime`'s resource-module and resource-package tables, which the SDKs fill on import),
its `<Class>Args` input type lists every input by the provider's (camelCase) name through its
`@pulumi.getter(name=...)` properties, with the type annotation of each, and its `__init__` says which inputs
are required. Nested input types (`ClusterVpcConfigArgs`, ...) carry the same metadata, so the check walks
the inputs to any depth.

Checked: unknown keys (at any depth: a key the provider does not know arrives untranslated, in snake_case,
or misspelled), missing required inputs, and types (str, bool, int, float, lists, maps, nested input types,
enums). Integers recorded by the mock runtime arrive as floats; an integral float counts as an int. Values a
render masks or does not know (`[secret]`, `[unknown]`) and resource references pass. Types the SDKs do not
type (a Helm release's `values`, a `CustomResource`'s spec) and types without an installed SDK (mlinfra's
components, custom resources, which `mlinfra validate` checks against their CRDs) are counted as not checked.
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import importlib
import inspect
import json
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# What a render writes for values it must not or cannot show (see mlinfra.offline.render.clean), and the raw
# markers the mock runtime records before cleaning.
PLACEHOLDERS = frozenset({"[secret]", "[unknown]", "[resource]", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"})
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass(frozen=True)
class InputProblem:
    """One input that the provider would reject: `path` is the provider's name of the input, dotted."""

    resource: str
    type: str
    path: str
    message: str

    def line(self) -> str:
        """`name (type): path: message`."""
        return f"{self.resource} ({self.type}): {self.path}: {self.message}"


@dataclass
class InputReport:
    """Problems found, resources checked, and the types that had no SDK input class to check against."""

    problems: list[InputProblem] = field(default_factory=list)
    checked: int = 0
    not_checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no input breaks its SDK's contract."""
        return not self.problems

    def format(self) -> str:
        """One line per problem, then `checked N resources against their SDK input types: E errors`."""
        lines = [p.line() for p in self.problems]
        lines.append(f"checked {self.checked} resources against their SDK input types: {len(self.problems)} errors"
                     f" ({sum(self.not_checked.values())} of types without SDK input types not checked)")
        return "\n".join(lines) + "\n"


class ProviderInputError(ValueError):
    """Raised by `require_valid_inputs`: the message lists every problem. The render refuses its input (exit 1)."""

    exit_code = 1

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("inputs the providers would reject:\n" + "\n".join(f"  {p.line()}" for p in problems))


# --- from a type token to its SDK input class --------------------------------------------------------------------


def _import_sdk(package: str) -> bool:
    """Import `pulumi_<package>` so it registers its resource modules; False when it is not installed."""
    name = f"pulumi_{package.replace('-', '_')}"
    if name in sys.modules:
        return True
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


@functools.cache
def args_class(type_token: str) -> type | None:
    """The SDK's `<Class>Args` input type of a resource type token (`aws:eks/cluster:Cluster`,
    `pulumi:providers:kubernetes`), or None when no installed SDK defines the type."""
    from pulumi._types import is_input_type
    from pulumi.runtime import rpc

    parts = type_token.split(":")
    if len(parts) != 3:
        return None
    if parts[0] == "pulumi" and parts[1] == "providers":
        if not _import_sdk(parts[2]):
            return None
        package = rpc.get_resource_package(parts[2], "")
        info = getattr(package, "pkg_info", None)
        fqn, class_name = (info.get("fqn"), info.get("class")) if isinstance(info, dict) else (None, None)
    else:
        if not _import_sdk(parts[0]):
            return None
        module = rpc.get_resource_module(parts[0], parts[1], "")
        info = getattr(module, "mod_info", None)
        fqn = info.get("fqn") if isinstance(info, dict) else None
        class_name = (info.get("classes") or {}).get(type_token) if isinstance(info, dict) else None
    if not fqn or not class_name:
        return None
    found = getattr(importlib.import_module(fqn), f"{class_name}Args", None)
    return found if isinstance(found, type) and is_input_type(found) else None


@functools.cache
def _module_globals(modules: tuple[str, ...]) -> dict[str, Any]:
    """The globals an input type's annotations are written against (its module's and its bases'), built once
    per module: an SDK's `_inputs` module holds thousands of classes."""
    out: dict[str, Any] = {}
    for name in modules:
        module = sys.modules.get(name)
        if module is not None:
            out.update(vars(module))
    return out


@dataclass(frozen=True)
class InputField:
    """One input of an input type: its provider name, its type annotation, whether it is required."""

    name: str
    hint: Any
    required: bool


@functools.cache
def input_fields(cls: type) -> dict[str, InputField]:
    """The inputs of an SDK input type by provider (camelCase) name, from its getters and its `__init__`."""
    import pulumi
    from pulumi._types import input_type_py_to_pulumi_names

    names = input_type_py_to_pulumi_names(cls)
    required = {
        p.name for p in inspect.signature(next(vars(c)["__init__"] for c in cls.__mro__ if "__init__" in vars(c)))
        .parameters.values()
        if p.default is inspect.Parameter.empty and p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    globalns = _module_globals(tuple(base.__module__ for base in reversed(cls.__mro__)))
    localns = {"Output": pulumi.Output, "T": type(None)}
    out: dict[str, InputField] = {}
    for py_name, pulumi_name in names.items():
        prop = getattr(cls, py_name, None)
        getter = getattr(prop, "fget", None)
        try:
            hint = typing.get_type_hints(getter, globalns=globalns, localns=localns).get("return", Any)
        except Exception:  # noqa: BLE001 - an annotation the SDK itself could not resolve: do not guess
            hint = Any
        out[pulumi_name] = InputField(pulumi_name, hint, py_name in required)
    return out


# --- checking values against annotations --------------------------------------------------------------------------


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value in PLACEHOLDERS


def _unwrap_secret(value: Any) -> tuple[Any, bool]:
    """(inner value, True) for a raw secret or resource reference from the mock runtime; (value, False) else."""
    if isinstance(value, Mapping) and _SIG in value:
        if value.get(_SIG) == _SECRET_SIG:
            return value.get("value"), False
        return None, True  # a resource reference, an asset or an archive: not a plain value
    return value, False


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


# Kubernetes fields of type `map[ResourceName]resource.Quantity`, which the SDK types as `Mapping[str, str]`:
# the API server also takes a JSON number for a quantity (k8s.io/apimachinery pkg/api/resource/quantity.go,
# `Quantity.UnmarshalJSON`), so a number there is no fault. `mlinfra validate` checks these objects against the
# Kubernetes schemas, where a quantity is a string or a number.
QUANTITY_MAPS = frozenset({"limits", "requests", "hard", "capacity", "allocatable", "overhead", "default",
                           "defaultRequest", "max", "min", "maxLimitRequestRatio"})


class _Checker:
    """Walks one resource's inputs; collects (path, message) problems.

    `json_inputs`: a provider resource's inputs, which the SDKs send JSON-encoded when they are not strings
    (`pulumi.runtime.to_json` in each SDK's `Provider._internal_init`). `kubernetes`: a Kubernetes resource,
    whose quantity maps take numbers too.
    """

    def __init__(self, json_inputs: bool = False, kubernetes: bool = False) -> None:
        self.problems: list[tuple[str, str]] = []
        self.json_inputs = json_inputs
        self.kubernetes = kubernetes

    def _sub(self) -> _Checker:
        return _Checker(self.json_inputs, self.kubernetes)

    def check_fields(self, value: Any, cls: type, path: str) -> None:
        if not isinstance(value, Mapping):
            self.problems.append((path or "(inputs)", f"expected an object ({cls.__name__}), got {_describe(value)}"))
            return
        fields = input_fields(cls)
        for key in sorted(value, key=str):
            key = str(key)
            if key.startswith("__"):
                continue  # SDK bookkeeping (e.g. `__defaults`), never sent to the provider as an input
            where = f"{path}.{key}" if path else key
            spec = fields.get(key)
            if spec is None:
                self.problems.append((where, f"unknown input of {cls.__name__}; known: {', '.join(sorted(fields))}"))
                continue
            self.check(value[key], spec.hint, where)
        for name, spec in sorted(fields.items()):
            if spec.required and value.get(name) is None:
                where = f"{path}.{name}" if path else name
                self.problems.append((where, f"required input of {cls.__name__} is missing"))

    def check(self, value: Any, hint: Any, path: str) -> None:
        value, opaque = _unwrap_secret(value)
        if opaque or value is None or _is_placeholder(value):
            return
        found = self._problems(value, hint, path)
        if found and self.json_inputs and isinstance(value, str):
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
            if not isinstance(decoded, str):
                found = self._problems(decoded, hint, path)
        self.problems.extend(found)

    def _problems(self, value: Any, hint: Any, path: str) -> list[tuple[str, str]]:
        import pulumi
        from pulumi._types import is_input_type

        if hint is Any or hint is object or hint is None:
            return []
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is typing.Union or origin is types.UnionType:
            members = [a for a in args if a is not type(None) and not _is_output_or_awaitable(a, pulumi)]
            return self._union(value, members, path)
        if isinstance(hint, str):
            return []  # an unresolved forward reference: nothing to check against
        if origin is typing.Literal:
            return [] if value in args else [(path, f"expected one of {list(args)}, got {_describe(value)}")]
        if origin in (list, collections.abc.Sequence, typing.Sequence):
            if not isinstance(value, list):
                return [(path, f"expected a list, got {_describe(value)}")]
            item = args[0] if args else Any
            out: list[tuple[str, str]] = []
            for i, v in enumerate(value):
                sub = self._sub()
                sub.check(v, item, f"{path}[{i}]")
                out += sub.problems
            return out
        if origin in (dict, collections.abc.Mapping, typing.Mapping):
            if not isinstance(value, Mapping):
                return [(path, f"expected a map, got {_describe(value)}")]
            item = args[1] if len(args) == 2 else Any
            if self.kubernetes and _input_of(item) is str and path.rsplit(".", 1)[-1] in QUANTITY_MAPS:
                item = str | int | float
            out = []
            for k, v in value.items():
                sub = self._sub()
                sub.check(v, item, f"{path}[{k!r}]")
                out += sub.problems
            return out
        if not isinstance(hint, type):
            return []  # a typing construct the SDKs do not use for inputs: not checked
        if is_input_type(hint):
            sub = self._sub()
            sub.check_fields(value, hint, path)
            return sub.problems
        if typing.is_typeddict(hint):
            return [] if isinstance(value, Mapping) else [(path, f"expected an object, got {_describe(value)}")]
        if issubclass(hint, enum.Enum):
            allowed = [e.value for e in hint]
            return [] if value in allowed else [(path, f"expected one of {allowed}, got {_describe(value)}")]
        if issubclass(hint, (pulumi.Resource, pulumi.Asset, pulumi.Archive)):
            return []
        if hint is bool:
            return [] if isinstance(value, bool) else [(path, f"expected a bool, got {_describe(value)}")]
        if hint is int:
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, float) and value.is_integer())
            return [] if ok else [(path, f"expected an integer, got {_describe(value)}")]
        if hint is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return [] if ok else [(path, f"expected a number, got {_describe(value)}")]
        if hint is str:
            return [] if isinstance(value, str) else [(path, f"expected a string, got {_describe(value)}")]
        if hint in (dict, list):
            return [] if isinstance(value, hint) else [(path, f"expected a {hint.__name__}, got {_describe(value)}")]
        return []

    def _union(self, value: Any, members: Sequence[Any], path: str) -> list[tuple[str, str]]:
        """A value fits a union when it fits one member; else the problems of the closest member: an input type
        for an object (its typed-dict twin describes the same keys), a list type for a list."""
        from pulumi._types import is_input_type

        if not members:
            return []
        attempts: list[tuple[Any, list[tuple[str, str]]]] = []
        for member in members:
            found = self._problems(value, member, path)
            if not found:
                return []
            attempts.append((member, found))

        def closeness(attempt: tuple[Any, list[tuple[str, str]]]) -> int:
            member = attempt[0]
            origin = typing.get_origin(member)
            if isinstance(value, Mapping) and isinstance(member, type) and is_input_type(member):
                return 0
            if isinstance(value, list) and origin in (list, collections.abc.Sequence, typing.Sequence):
                return 0
            if isinstance(value, Mapping) and origin in (dict, collections.abc.Mapping, typing.Mapping):
                return 1
            return 2

        best = min(attempts, key=closeness)
        if closeness(best) < 2 or len(attempts) == 1:
            return best[1]
        names = " or ".join(_type_name(m) for m, _ in attempts)
        return [(path, f"expected {names}, got {_describe(value)}")]


def _input_of(hint: Any) -> Any:
    """`T` for `pulumi.Input[T]` (a union of T, Awaitable[T] and Output[T]); the hint itself otherwise."""
    import pulumi

    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None) and not _is_output_or_awaitable(a, pulumi)]
        if len(members) == 1:
            return members[0]
    return hint


def _is_output_or_awaitable(hint: Any, pulumi: Any) -> bool:
    origin = typing.get_origin(hint)
    return hint is pulumi.Output or origin is pulumi.Output or origin in (typing.Awaitable, collections.abc.Awaitable)


# --- records ------------------------------------------------------------------------------------------------------


def check_record(record: Mapping[str, Any]) -> list[InputProblem] | None:
    """Problems of one `resources.json` record (or registration), or None when its type has no SDK input type."""
    type_ = str(record.get("type", ""))
    cls = args_class(type_)
    if cls is None:
        return None
    checker = _Checker(json_inputs=type_.startswith("pulumi:providers:"), kubernetes=type_.startswith("kubernetes:"))
    checker.check_fields(record.get("inputs") or {}, cls, "")
    name = str(record.get("name"))
    return [InputProblem(name, type_, path, message) for path, message in checker.problems]


def check_records(records: Iterable[Mapping[str, Any]]) -> InputReport:
    """Check every record whose type an installed SDK defines; count the others as not checked."""
    report = InputReport()
    for record in records:
        problems = check_record(record)
        if problems is None:
            type_ = str(record.get("type", ""))
            report.not_checked[type_] = report.not_checked.get(type_, 0) + 1
            continue
        report.checked += 1
        report.problems += problems
    return report


def require_valid_inputs(records: Iterable[Mapping[str, Any]]) -> InputReport:
    """`check_records`, raising `ProviderInputError` when any input breaks its SDK's contract."""
    report = check_records(records)
    if report.problems:
        raise ProviderInputError(report.problems)
    return report
