"""The shape of a policy rule, its findings, and the registry every rule module adds itself to."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low"]
Scope = Literal["resource", "stack"]

# A record is what both the render and the policy engine can produce for one resource:
# {"type": Pulumi type token, "name": logical name, "inputs": props, "provider": provider name or None}.
Record = Mapping[str, Any]
ResourceCheck = Callable[[Record], Iterable[str]]
StackCheck = Callable[[list[Record]], Iterable[tuple[Record, str]]]


@dataclass(frozen=True)
class Rule:
    """One security rule: who it applies to, what it checks, and why.

    `types` are Pulumi type tokens the rule reads (cloud resources, Helm releases); `kinds` are Kubernetes
    kinds, matched on any `kubernetes:*` resource whose props are a manifest. A stack rule sees every record
    at once (for facts spread over several resources, like spot pools and the interruption queue).
    `secret_aware` marks rules that rely on secrets being masked: the Pulumi engine hands policies secret
    values in plain text (pulumi/pulumi-policy#241), so the policy pack leaves these to `mlinfra check`.
    """

    id: str
    severity: Severity
    title: str
    rationale: str
    source: str
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    types: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    secret_aware: bool = False

    @property
    def scope(self) -> Scope:
        """`stack` for rules over every record, `resource` for rules over one."""
        return "stack" if self.stack_check is not None else "resource"

    def applies_to(self, record: Record) -> bool:
        """True when this (resource-scoped) rule reads this record."""
        type_ = str(record.get("type", ""))
        if type_ in self.types:
            return True
        # Server-side-apply patches (`...Patch` types) set a few fields of an object someone else owns;
        # reading one as a whole manifest would report every field it leaves alone.
        if self.kinds and type_.startswith("kubernetes:") and not type_.endswith("Patch"):
            inputs = record.get("inputs") or {}
            return isinstance(inputs, Mapping) and inputs.get("kind") in self.kinds
        return False


@dataclass(frozen=True)
class Finding:
    """One rule violated by one resource; `waived` holds the reason when a waiver covers it."""

    rule: str
    severity: Severity
    resource: str
    type: str
    message: str
    waived: str | None = None

    def line(self) -> str:
        """One line for a terminal or a pull-request comment."""
        text = f"{self.rule} [{self.severity}] {self.resource} ({self.type}): {self.message}"
        return f"{text} -- waived: {self.waived}" if self.waived else text


@dataclass
class Registry:
    """Every rule by id, in the order the modules declare them."""

    rules: dict[str, Rule] = field(default_factory=dict)

    def add(self, rule: Rule) -> Rule:
        """Register a rule; ids are public contract (waivers name them), so a duplicate is a bug."""
        if rule.id in self.rules:
            raise ValueError(f"duplicate rule id {rule.id}")
        if (rule.check is None) == (rule.stack_check is None):
            raise ValueError(f"rule {rule.id} needs exactly one of check or stack_check")
        self.rules[rule.id] = rule
        return rule


REGISTRY = Registry()


def rule(
    id: str,  # noqa: A002 - the rule's id is the public name
    severity: Severity,
    title: str,
    rationale: str,
    source: str,
    *,
    types: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
    stack: bool = False,
    secret_aware: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register the function as the check of a new rule and return it unchanged."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY.add(
            Rule(
                id=id,
                severity=severity,
                title=title,
                rationale=rationale,
                source=source,
                check=None if stack else fn,
                stack_check=fn if stack else None,
                types=types,
                kinds=kinds,
                secret_aware=secret_aware,
            )
        )
        return fn

    return register


def dig(value: Any, *path: str | int) -> Any:
    """`value[path[0]][path[1]]...`, or None as soon as a step is missing."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
        elif not isinstance(value, Mapping):
            return None
        value = value[step] if isinstance(step, int) else value.get(step)
    return value


def truthy(value: Any) -> bool:
    """Booleans as the clouds' schemas spell them: some AWS launch-template fields are the strings "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def as_list(value: Any) -> list[Any]:
    """A block that a provider version types as one object or as a one-element list, always as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
