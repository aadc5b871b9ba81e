"""Waivers: a rule turned off for one resource, always with a reason (annotation or waivers file)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlinfra.policy.model import Record, dig

ANNOTATION = "mlinfra.io/waive"
_RULE_ID = re.compile(r"^MLI-[A-Z0-9]+-\d{3}$")


class WaiverError(ValueError):
    """A waiver that cannot be accepted: no reason, unknown shape, or not a rule id."""


@dataclass(frozen=True)
class Waiver:
    """Rule `rule` does not apply to resource `resource` (a Pulumi logical name), because `reason`."""

    rule: str
    resource: str
    reason: str
    origin: str


def parse_annotation(text: str, resource: str) -> list[Waiver]:
    """Parse `mlinfra.io/waive`: one `RULE-ID: reason` per line (or separated by `;`). A missing reason is an error."""
    waivers = []
    for part in re.split(r"[;\n]", text):
        part = part.strip()
        if not part:
            continue
        rule_id, _, reason = part.partition(":")
        rule_id, reason = rule_id.strip(), reason.strip()
        if not _RULE_ID.match(rule_id):
            raise WaiverError(
                f"{resource}: {ANNOTATION} entry {part!r} does not start with a rule id (MLI-XXX-000: reason)"
            )
        if not reason:
            raise WaiverError(f"{resource}: {ANNOTATION} waives {rule_id} without a reason")
        waivers.append(Waiver(rule_id, resource, reason, f"annotation on {resource}"))
    return waivers


def annotation_waivers(record: Record) -> list[Waiver]:
    """The waivers a Kubernetes object carries in its own annotations."""
    text = dig(record, "inputs", "metadata", "annotations", ANNOTATION)
    if not isinstance(text, str):
        return []
    return parse_annotation(text, str(record.get("name")))


def load_waivers_file(path: Path) -> list[Waiver]:
    """Read a waivers file: a YAML list (or `{waivers: [...]}`) of `{rule, resource, reason}`."""
    data: Any = yaml.safe_load(path.read_text()) or []
    if isinstance(data, Mapping):
        data = data.get("waivers") or []
    return parse_waivers(data, str(path))


def parse_waivers(entries: Any, origin: str) -> list[Waiver]:
    """Validate waiver entries: each names a rule id and a resource and gives a non-empty reason."""
    if not isinstance(entries, list):
        raise WaiverError(f"{origin}: expected a list of {{rule, resource, reason}}, got {type(entries).__name__}")
    waivers = []
    for i, entry in enumerate(entries):
        where = f"{origin}[{i}]"
        if not isinstance(entry, Mapping):
            raise WaiverError(f"{where}: expected a mapping with rule, resource and reason")
        unknown = set(entry) - {"rule", "resource", "reason"}
        if unknown:
            raise WaiverError(f"{where}: unknown keys {sorted(unknown)}; allowed: rule, resource, reason")
        rule_id, resource = str(entry.get("rule") or ""), str(entry.get("resource") or "")
        reason = str(entry.get("reason") or "").strip()
        if not _RULE_ID.match(rule_id):
            raise WaiverError(f"{where}: rule must be a rule id like MLI-EKS-001 (got {rule_id!r})")
        if not resource:
            raise WaiverError(f"{where}: waiver of {rule_id} names no resource")
        if not reason:
            raise WaiverError(f"{where}: waiver of {rule_id} for {resource} has no reason")
        waivers.append(Waiver(rule_id, resource, reason, where))
    return waivers
