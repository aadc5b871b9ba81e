"""The rules as Pulumi CrossGuard policies: the one module that imports `pulumi_policy` (the `policy` extra)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlinfra.policy.engine import all_rules
from mlinfra.policy.model import Record, Rule
from mlinfra.policy.waivers import Waiver, WaiverError, annotation_waivers, load_waivers_file

UNKNOWN = "[unknown]"


def plain(value: Any, read: Callable[[Any, Any], Any] | None = None) -> Any:
    """Props as plain dicts and lists; values the engine does not know yet (preview) become "[unknown]",
    as in a render, so a rule reads the same shapes in both places."""
    try:
        from pulumi_policy.proxy import UnknownValueError
    except ImportError:  # plain data outside the policy engine
        UnknownValueError = KeyError  # noqa: N806

    def get(container: Any, key: Any) -> Any:
        try:
            return container[key]
        except UnknownValueError:
            return UNKNOWN

    if isinstance(value, Mapping):
        return {str(k): plain(get(value, k)) for k in list(value)}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(get(value, i)) for i in range(len(value))]
    return value


def record_of(resource_type: str, name: str, props: Any, provider: Any = None, urn: str | None = None) -> Record:
    """A rule record from what the policy engine hands a policy (ResourceValidationArgs or PolicyResource)."""
    return {
        "type": resource_type,
        "name": name,
        "inputs": plain(props),
        "provider": getattr(provider, "name", None),
        "urn": urn,
    }


def stack_record_of(resource: Any) -> Record:
    """A rule record from a stack policy's PolicyResource, with the graph as `resources.json` has it: parent,
    dependencies and property dependencies by resource name (see `mlinfra.offline.graph`)."""
    def names(resources: Any) -> list[str]:
        return sorted({str(r.name) for r in resources or ()})

    parent = getattr(resource, "parent", None)
    return {
        **record_of(resource.resource_type, resource.name, resource.props, resource.provider, resource.urn),
        "parent": getattr(parent, "name", None),
        "dependencies": names(getattr(resource, "dependencies", None)),
        "propertyDependencies": {
            str(k): names(v) for k, v in sorted((getattr(resource, "property_dependencies", None) or {}).items())
        },
    }


def _waived(rule_id: str, record: Record, waivers: Mapping[tuple[str, str], Waiver]) -> bool:
    if (rule_id, str(record.get("name"))) in waivers:
        return True
    try:
        return any(w.rule == rule_id for w in annotation_waivers(record))
    except WaiverError:
        return False  # a waiver without a reason waives nothing; `mlinfra check` reports it


def pack_rules() -> list[Rule]:
    """The rules the pack enforces: all but the secret-aware ones, which need the render's secret masking."""
    return [r for r in all_rules() if not r.secret_aware]


def policies(waivers: Iterable[Waiver] = ()) -> list[Any]:
    """One ResourceValidationPolicy per resource rule and one StackValidationPolicy per stack rule."""
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity, StackValidationPolicy

    by_key = {(w.rule, w.resource): w for w in waivers}
    out: list[Any] = []
    for rule in pack_rules():
        common = {
            "name": rule.id.lower(),
            "description": f"{rule.title}. {rule.rationale} ({rule.source})",
            "display_name": f"{rule.id}: {rule.title}",
            "severity": Severity(rule.severity),
            "enforcement_level": EnforcementLevel.MANDATORY,
        }
        if rule.stack_check is None:
            out.append(ResourceValidationPolicy(validate=_resource_validate(rule, by_key), **common))
        else:
            out.append(StackValidationPolicy(validate=_stack_validate(rule, by_key), **common))
    return out


def _resource_validate(rule: Rule, waivers: Mapping[tuple[str, str], Waiver]) -> Callable[[Any, Any], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        record = record_of(args.resource_type, args.name, args.props, args.provider, args.urn)
        if not rule.applies_to(record) or _waived(rule.id, record, waivers):
            return
        assert rule.check is not None
        for message in rule.check(record):
            report_violation(f"{rule.id}: {message}", None)

    return validate


def _stack_validate(rule: Rule, waivers: Mapping[tuple[str, str], Waiver]) -> Callable[[Any, Any], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        records = [stack_record_of(r) for r in args.resources]
        assert rule.stack_check is not None
        for record, message in rule.stack_check(records):
            if not _waived(rule.id, record, waivers):
                report_violation(f"{rule.id}: {message}", record.get("urn"))

    return validate


def pack_waivers(pack_dir: Path, env_path: str | None) -> list[Waiver]:
    """The waivers the pack honours: `$MLINFRA_WAIVERS` if set, else `waivers.yaml` beside the pack."""
    path = Path(env_path) if env_path else pack_dir / "waivers.yaml"
    return load_waivers_file(path) if path.exists() else []
