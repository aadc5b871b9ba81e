"""The result of `mlinfra validate`: problems, rules not checked, and the one-line summary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parts: Iterable[str | int]) -> str:
    """`("spec", "items", 0, "nvidia.com/gpu")` -> `$.spec.items[0]['nvidia.com/gpu']`.

    Keys that are not identifiers (label keys, resource names) are bracketed so the path stays unambiguous.
    """
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}")
        else:
            out.append("['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']")
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    """One error: the object (or Helm release) at `file` violates its schema or a rule at `path`."""

    file: str
    object: str  # "Kind/namespace/name" (namespace "-" when cluster-scoped), or "HelmRelease/ns/release"
    path: str  # JSON path inside the object, "$" for the object itself
    message: str

    def format(self) -> str:
        """`FILE: Kind/ns/name: $.json.path: message`."""
        return f"{self.file}: {self.object}: {self.path}: {self.message}"


@dataclass(frozen=True)
class NotChecked:
    """A rule the validator could not evaluate. Never counted as passed: it is listed so a human can check it."""

    file: str
    object: str
    path: str
    rule: str
    reason: str

    def format(self) -> str:
        """`FILE: Kind/ns/name: $.json.path: not checked: rule `...`: reason`."""
        rule = " ".join(self.rule.split())
        return f"{self.file}: {self.object}: {self.path}: not checked: rule `{rule}`: {self.reason}"


@dataclass
class Report:
    """Everything one validation run found.

    `objects` counts Kubernetes objects and Helm releases validated. `transition_rules_skipped` counts CEL rules
    that reference `oldSelf`: they only apply on update, so they neither pass nor fail a create.
    `free_form` lists values subtrees that had nothing to check against (an unvendored subchart), for the record.
    """

    problems: list[Problem] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)
    objects: int = 0
    transition_rules_skipped: int = 0
    cel_rules_evaluated: int = 0
    free_form: list[str] = field(default_factory=list)
    # Cloud and Kubernetes resources of `resources.json` checked against their SDK's input types.
    resources_checked: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no error (rules not checked do not make a report fail)."""
        return not self.problems

    def extend(self, other: Report) -> None:
        """Add another report's findings and counts to this one."""
        self.problems.extend(other.problems)
        self.not_checked.extend(other.not_checked)
        self.objects += other.objects
        self.transition_rules_skipped += other.transition_rules_skipped
        self.cel_rules_evaluated += other.cel_rules_evaluated
        self.free_form.extend(other.free_form)
        self.resources_checked += other.resources_checked

    def summary(self) -> str:
        """`validated N objects: E errors, U rules not checked`, then `; R resources checked against their SDK
        input types` when the render's `resources.json` was read."""
        errors, unchecked = len(self.problems), len(self.not_checked)
        text = f"validated {self.objects} objects: {errors} errors, {unchecked} rules not checked"
        if self.resources_checked:
            text += f"; {self.resources_checked} resources checked against their SDK input types"
        return text

    def format(self) -> str:
        """One line per problem, then one per rule not checked, then the summary line."""
        lines = [p.format() for p in self.problems]
        lines += [n.format() for n in self.not_checked]
        lines.append(self.summary())
        return "\n".join(lines) + "\n"
