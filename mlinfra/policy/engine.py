"""Run every rule over a list of records (or a render directory) and split findings into open and waived."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlinfra.policy.model import REGISTRY, Finding, Record, Rule
from mlinfra.policy.waivers import Waiver, WaiverError, annotation_waivers


def all_rules() -> list[Rule]:
    """Every registered rule, in declaration order."""
    import mlinfra.policy.rules  # noqa: F401 - registers the rules

    return list(REGISTRY.rules.values())


@dataclass
class Report:
    """What `evaluate` found: open findings, waived findings, waiver errors and waivers that matched nothing."""

    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unused_waivers: list[Waiver] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is open and every waiver was well formed."""
        return not self.findings and not self.errors


def violations(rule: Rule, records: Sequence[Record]) -> Iterable[tuple[Record, str]]:
    """(record, message) for each violation of one rule."""
    if rule.stack_check is not None:
        yield from rule.stack_check(list(records))
        return
    assert rule.check is not None
    for record in records:
        if rule.applies_to(record):
            for message in rule.check(record):
                yield record, message


def evaluate(
    records: Sequence[Record], waivers: Iterable[Waiver] = (), selected: Iterable[Rule] | None = None
) -> Report:
    """Apply the rules to the records; a finding covered by a waiver (annotation or file) is listed as waived."""
    report = Report()
    known = {r.id for r in all_rules()}
    by_key: dict[tuple[str, str], Waiver] = {}
    for w in waivers:
        if w.rule not in known:
            report.errors.append(f"{w.origin}: waives unknown rule {w.rule}")
        by_key[(w.rule, w.resource)] = w
    for record in records:
        try:
            for w in annotation_waivers(record):
                if w.rule not in known:
                    report.errors.append(f"{w.origin}: waives unknown rule {w.rule}")
                by_key.setdefault((w.rule, w.resource), w)
        except WaiverError as err:
            report.errors.append(str(err))
    used: set[tuple[str, str]] = set()
    for rule in selected if selected is not None else all_rules():
        for record, message in violations(rule, records):
            key = (rule.id, str(record.get("name")))
            waiver = by_key.get(key)
            finding = Finding(rule.id, rule.severity, key[1], str(record.get("type")), message,
                              waiver.reason if waiver else None)
            (report.waived if waiver else report.findings).append(finding)
            if waiver:
                used.add(key)
    report.unused_waivers = [w for key, w in by_key.items() if key not in used]
    return report


def load_records(render_dir: Path) -> list[Record]:
    """The records of a render: `resources.json`, one `{type, name, parent, provider, inputs}` per resource."""
    path = render_dir / "resources.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `mlinfra render --stack NAME --out {render_dir}` first")
    return json.loads(path.read_text())
