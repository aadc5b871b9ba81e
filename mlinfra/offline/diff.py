"""`mlinfra diff BASE HEAD`: compare two render directories as Markdown for a pull-request comment.

A render directory is what `mlinfra render` writes. The diff reads `resources.json` (every resource with its
inputs; the manifests and Helm files are views of the same inputs) and `capacity.json` (GPU capacity per
cluster and pool), and reports resources added, changed (each changed field as a path with before -> after)
and removed; the node pools and clusters a change would replace (or whose nodes it would roll), from the facts
about the pinned providers in `mlinfra.catalog.replacement`; the pools whose MIG layout changes (every GPU of the
pool is re-partitioned, its GPU pods drained, although the node group or pool is updated in place); GPU capacity
per cluster and pool; and the quota of every queue, before and after.

Values are never cut: a short value is a table cell, a multi-line or long value (a ConfigMap's data, an alert
rule, a dashboard) is shown as a unified line diff.

Exit codes: 0 when the diff was written; 1 when a render is missing or unreadable; 2 on bad arguments. With
`--detailed-exitcode` (for CI, as `terraform plan -detailed-exitcode`): 0 no changes, 2 changes, 1 error.
"""

from __future__ import annotations

import argparse
import difflib
import html
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlinfra.catalog.replacement import CHANGE_FACTS, MIG_REPARTITION_SOURCE

if TYPE_CHECKING:
    from mlinfra.spec.environment import EnvironmentSpec

# Fields that are not worth reading in a review (provider bookkeeping).
IGNORED_FIELDS = ("__", "initialNodeCount")

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A value shown in a table cell stays on one line; longer or multi-line values are shown as a line diff.
CELL_CHARS = 80


# --- reading a render -----------------------------------------------------------------------------------


@dataclass
class Render:
    """The parts of one render directory the diff compares."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    capacity: dict[str, Any] | None = None
    exists: bool = True


class RenderError(Exception):
    """A render directory that cannot be read: missing, without resources.json, or not valid JSON."""


def load_render(path: Path, missing_ok: bool = False) -> Render:
    """Read a render directory.

    A directory that does not exist is an empty render when `missing_ok` (a stack that a pull request adds or
    removes); otherwise, and for a directory without a readable `resources.json`, `RenderError`.
    """
    if not path.exists():
        if missing_ok:
            return Render(exists=False)
        raise RenderError(f"render directory {path} does not exist (run `mlinfra render` first)")
    try:
        resources = json.loads((path / "resources.json").read_text())
        capacity_file = path / "capacity.json"
        capacity = json.loads(capacity_file.read_text()) if capacity_file.exists() else None
        return Render({(r["type"], r["name"]): r for r in resources}, capacity)
    except FileNotFoundError as exc:
        raise RenderError(f"{path} is not a render directory: {exc.filename} is missing") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RenderError(f"{path} is not a readable render: {type(exc).__name__}: {exc}") from exc


def render_from_files(files: dict[str, str]) -> Render:
    """A `Render` from the files dict that `render_stack` / `render_environment` return."""
    resources = json.loads(files["resources.json"])
    capacity = json.loads(files["capacity.json"]) if "capacity.json" in files else None
    return Render({(r["type"], r["name"]): r for r in resources}, capacity)


# --- capacity.json (written by render) ------------------------------------------------------------------


def capacity_data(env: EnvironmentSpec) -> dict[str, Any]:
    """GPU capacity of an environment at max nodes, per cluster and pool: what `capacity.json` holds."""
    from mlinfra.spec.resolve import resolve_cluster_pools

    clusters: dict[str, Any] = {}
    for cluster in env.clusters:
        pools: dict[str, Any] = {}
        for p in resolve_cluster_pools(cluster):
            pools[p.name] = {
                "gpu": p.gpu.name,
                "gpus_per_node": p.gpus_per_node,
                "min_nodes": p.spec.min_nodes,
                "max_nodes": p.spec.max_nodes,
                "max_gpus": p.max_gpus,
                "resources": dict(sorted(p.max_resources().items())),
                "capacity_type": p.capacity_type,
                "provisioner": p.spec.provisioner,
                "mig_layout": p.mig_layout,
                "types": list(p.instance_types) or [p.machine_type],
            }
        clusters[cluster.name] = {"cloud": cluster.cloud, "scheduler": cluster.scheduler, "pools": pools}
    return {"environment": env.environment, "clusters": clusters}


def capacity_json(env: EnvironmentSpec) -> str:
    """`capacity.json` text: stable key order, trailing newline."""
    return json.dumps(capacity_data(env), indent=1, sort_keys=True) + "\n"


# --- field-level changes --------------------------------------------------------------------------------


def _key_path(parent: str, key: str) -> str:
    if _SIMPLE_KEY.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key)}]"


def _scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


def field_changes(before: Any, after: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every changed leaf between two input trees as (path, before, after); absent values are `None`.

    Paths read like JSON paths without the `$`: `nodeConfig.guestAccelerators[0].count`,
    `metadata.labels["mlinfra.io/pool"]`. Lists of scalars (instance types, scopes) are compared whole,
    and so are lists whose length changed; lists of objects of equal length are compared item by item.
    """
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if any(str(key).startswith(p) for p in IGNORED_FIELDS):
                continue
            yield from field_changes(before.get(key), after.get(key), _key_path(path, str(key)))
        return
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and not (_scalar_list(before) and _scalar_list(after))
    ):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from field_changes(b, a, f"{path}[{i}]")
        return
    yield path, before, after


def _under(path: str, prefixes: Iterable[str]) -> str | None:
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "["):
            return prefix
    return None


def replace_reason(type_: str, paths: Iterable[str]) -> list[str]:
    """The changed paths of a resource that force its replacement (`CHANGE_FACTS[type_].replace`), in order."""
    facts = CHANGE_FACTS.get(type_)
    return [p for p in paths if facts and _under(p, facts.replace)]


def roll_reason(type_: str, paths: Iterable[str]) -> list[str]:
    """The changed paths of a resource that keep it but replace its nodes (`CHANGE_FACTS[type_].nodes`)."""
    facts = CHANGE_FACTS.get(type_)
    return [p for p in paths if facts and _under(p, facts.nodes)]


# --- the diff -------------------------------------------------------------------------------------------


@dataclass
class Change:
    """One resource present on both sides whose inputs (or parent) differ."""

    type: str
    name: str
    fields: list[tuple[str, Any, Any]]
    replace: list[str]
    roll: list[str]


@dataclass
class CapacityRow:
    """GPU capacity of one pool (or a cluster's total, with `pool` None), before and after."""

    cluster: str
    pool: str | None
    gpus_before: int
    gpus_after: int
    resources_before: dict[str, int]
    resources_after: dict[str, int]

    @property
    def delta(self) -> int:
        """Change in physical GPUs."""
        return self.gpus_after - self.gpus_before


@dataclass
class QuotaRow:
    """One queue's quota for one resource (per flavor for Kueue), before and after."""

    cluster: str
    queue: str
    resource: str
    before: Any
    after: Any


@dataclass
class DependencyChange:
    """What one resource present on both sides waits for, changed: `pulumi up` orders it differently."""

    type: str
    name: str
    added: list[str]
    removed: list[str]


@dataclass
class MigChange:
    """A pool whose MIG layout changes: the layout its nodes select, or that layout's definition."""

    cluster: str
    pool: str
    before: str | None  # layout name (`nvidia.com/mig.config`), None when MIG was off
    after: str | None
    redefined: bool  # same name, other devices in the mig-parted config
    pool_replaced: bool = False  # the node pool / node group itself is replaced by the same change


@dataclass
class Diff:
    """Everything a reviewer sees for one stack."""

    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]
    changed: list[Change]
    capacity: list[CapacityRow]
    quotas: list[QuotaRow]
    capacity_known: bool = True
    base_exists: bool = True
    head_exists: bool = True
    dependencies: list[DependencyChange] = field(default_factory=list)
    mig: list[MigChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No resource, dependency, MIG layout, capacity or quota change."""
        return not (self.added or self.removed or self.changed or self.quotas or self.dependencies
                    or self.mig) and all(
            r.delta == 0 and r.resources_before == r.resources_after for r in self.capacity
        )


def dependency_changes(base: Render, head: Render) -> list[DependencyChange]:
    """Resources on both sides whose `dependencies` differ (renders without dependencies compare as none).

    A dependency change alone updates nothing in the cloud, so it is not a resource change; it changes what
    `pulumi up` waits for, which a reviewer should see (an ordering removed can fail a fresh deployment).
    """
    out = []
    for key in sorted(set(base.resources) & set(head.resources)):
        b = set(base.resources[key].get("dependencies") or ())
        h = set(head.resources[key].get("dependencies") or ())
        if b != h:
            out.append(DependencyChange(key[0], key[1], sorted(h - b), sorted(b - h)))
    return out


def mig_parted_layouts(resources: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per cluster, the named layouts (`mig-configs`) of the mig-parted config a render hands the MIG manager.

    Found by content: a ConfigMap whose data holds a YAML document with `mig-configs` (mig-parted's format).
    """
    layouts: dict[str, dict[str, Any]] = {}
    for r in resources:
        inputs = r.get("inputs") or {}
        if inputs.get("kind") != "ConfigMap" or not str(r.get("type", "")).startswith("kubernetes:"):
            continue
        for text in (inputs.get("data") or {}).values():
            if not isinstance(text, str) or "mig-configs" not in text:
                continue
            try:
                doc = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("mig-configs"), dict):
                layouts.setdefault(_cluster_of(r.get("provider")), {}).update(doc["mig-configs"])
    return layouts


def _cluster_of(provider: str | None) -> str:
    provider = provider or ""
    return provider[: -len("-k8s")] if provider.endswith("-k8s") else provider


def mig_changes(base: Render, head: Render) -> list[MigChange]:
    """Pools (both renders) whose MIG layout name changes, or whose layout is redefined in the mig-parted config."""
    def pool_layouts(render: Render) -> dict[tuple[str, str], str | None]:
        clusters = (render.capacity or {}).get("clusters", {})
        return {(c, p): info.get("mig_layout") for c, data in clusters.items()
                for p, info in (data.get("pools") or {}).items()}

    before, after = pool_layouts(base), pool_layouts(head)
    defs_before = mig_parted_layouts(base.resources.values())
    defs_after = mig_parted_layouts(head.resources.values())
    out = []
    for key in sorted(set(before) & set(after)):
        cluster, pool = key
        old, new = before[key], after[key]
        if old != new:
            out.append(MigChange(cluster, pool, old, new, False))
        elif new is not None and (defs_before.get(cluster, {}).get(new) != defs_after.get(cluster, {}).get(new)):
            out.append(MigChange(cluster, pool, old, new, True))
    return out


def _meta_changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    # A new parent changes the URN: Pulumi deletes and re-creates unless the component carries an alias.
    out = []
    for key in ("parent", "provider"):
        if before.get(key) != after.get(key):
            out.append((f"({key})", before.get(key), after.get(key)))
    return out


def _pool_rows(base: dict[str, Any] | None, head: dict[str, Any] | None) -> list[CapacityRow]:
    base_clusters = (base or {}).get("clusters", {})
    head_clusters = (head or {}).get("clusters", {})
    rows: list[CapacityRow] = []
    for cluster in sorted(set(base_clusters) | set(head_clusters)):
        b_pools = base_clusters.get(cluster, {}).get("pools", {})
        h_pools = head_clusters.get(cluster, {}).get("pools", {})
        total_b: dict[str, int] = {}
        total_h: dict[str, int] = {}
        gb = gh = 0
        for pool in sorted(set(b_pools) | set(h_pools)):
            b, h = b_pools.get(pool, {}), h_pools.get(pool, {})
            rows.append(CapacityRow(cluster, pool, b.get("max_gpus", 0), h.get("max_gpus", 0),
                                    b.get("resources", {}), h.get("resources", {})))
            gb += b.get("max_gpus", 0)
            gh += h.get("max_gpus", 0)
            for k, v in b.get("resources", {}).items():
                total_b[k] = total_b.get(k, 0) + v
            for k, v in h.get("resources", {}).items():
                total_h[k] = total_h.get(k, 0) + v
        rows.append(CapacityRow(cluster, None, gb, gh, dict(sorted(total_b.items())), dict(sorted(total_h.items()))))
    return rows


def queue_quotas(resources: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    """Quota per (cluster, queue, resource) from the Kueue ClusterQueues and Volcano Queues of a render.

    Kueue: `nominalQuota` per flavor, keyed `<flavor>/<resource>`. Volcano: `capability` (the hard limit)
    and `deserved`, keyed `capability/<resource>` and `deserved/<resource>`.
    """
    quotas: dict[tuple[str, str, str], Any] = {}
    for r in resources:
        inputs = r.get("inputs") or {}
        kind, api = inputs.get("kind"), str(inputs.get("apiVersion", ""))
        cluster = _cluster_of(r.get("provider"))
        name = (inputs.get("metadata") or {}).get("name") or r["name"]
        spec = inputs.get("spec") or {}
        if kind == "ClusterQueue" and api.startswith("kueue.x-k8s.io/"):
            for group in spec.get("resourceGroups") or []:
                for flavor in group.get("flavors") or []:
                    for res in flavor.get("resources") or []:
                        quotas[(cluster, name, f"{flavor.get('name')}/{res.get('name')}")] = res.get("nominalQuota")
        elif kind == "Queue" and api.startswith("scheduling.volcano.sh/"):
            for section in ("capability", "deserved"):
                for res, value in sorted((spec.get(section) or {}).items()):
                    quotas[(cluster, name, f"{section}/{res}")] = value
    return quotas


def compute_diff(base: Render, head: Render) -> Diff:
    """Compare two renders."""
    added = sorted(set(head.resources) - set(base.resources))
    removed = sorted(set(base.resources) - set(head.resources))
    changed = []
    for key in sorted(set(base.resources) & set(head.resources)):
        b, h = base.resources[key], head.resources[key]
        fields = _meta_changes(b, h) + list(field_changes(b.get("inputs"), h.get("inputs")))
        if not fields:
            continue
        paths = [p for p, _, _ in fields]
        replace = [p for p in paths if p == "(parent)"] + replace_reason(key[0], paths)
        changed.append(Change(key[0], key[1], fields, replace, roll_reason(key[0], paths)))
    bq = queue_quotas(base.resources.values())
    hq = queue_quotas(head.resources.values())
    quotas = [QuotaRow(*k, bq.get(k), hq.get(k)) for k in sorted(set(bq) | set(hq)) if bq.get(k) != hq.get(k)]
    known = (base.capacity is not None or not base.exists) and (head.capacity is not None or not head.exists)
    return Diff(added, removed, changed, _pool_rows(base.capacity, head.capacity), quotas, known,
                base.exists, head.exists, dependency_changes(base, head), _with_pool_replacement(
                    mig_changes(base, head), changed))


# Cloud resources that are a pool's nodes; mlinfra names them `<cluster>-<pool>-<role>`.
POOL_TYPES = ("gcp:container/nodePool:NodePool", "aws:eks/nodeGroup:NodeGroup")


def _with_pool_replacement(mig: list[MigChange], changed: list[Change]) -> list[MigChange]:
    """Mark the MIG changes whose pool is replaced anyway (a GKE partition size is part of the accelerator)."""
    replaced = [c.name for c in changed if c.replace and c.type in POOL_TYPES]
    for m in mig:
        m.pool_replaced = any(name.startswith(f"{m.cluster}-{m.pool}-") for name in replaced)
    return mig


# --- Markdown -------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def inline(value: Any) -> bool:
    """Whether a value is shown whole in a table cell: one line of at most CELL_CHARS characters."""
    text = _text(value)
    return "\n" not in text and len(text) <= CELL_CHARS


def _cell(value: Any) -> str:
    text = _text(value).replace("|", "\\|")
    # A code span holds any backtick run shorter than its fence: the value is shown as it is.
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.splitlines()
    return yaml.safe_dump(value, sort_keys=True, default_flow_style=False, width=1_000_000).splitlines()


def line_diff(before: Any, after: Any) -> list[str]:
    """A unified diff (difflib) of two values' lines: strings as they are, structures as YAML."""
    return list(difflib.unified_diff(_lines(before), _lines(after), "before", "after", lineterm="", n=3))


def _fenced(lines: list[str], lang: str = "diff") -> list[str]:
    body = "\n".join(lines)
    fence = "`" * max(3, max((len(m) + 1 for m in re.findall(r"`{3,}", body)), default=3))
    return [fence + lang, *lines, fence]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _resources_text(resources: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in resources.items()) or "-"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _label(type_: str, name: str) -> str:
    return f"`{name}` ({type_})"


def format_markdown(diff: Diff, title: str | None = None) -> str:
    """The pull-request comment for one stack."""
    lines: list[str] = [f"### {title}" if title else "### mlinfra diff", ""]
    if not diff.base_exists:
        lines += ["New stack: the base branch has no render for it.", ""]
    if not diff.head_exists:
        lines += ["Removed stack: the pull request deletes it.", ""]
    replaced = [c for c in diff.changed if c.replace]
    rolled = [c for c in diff.changed if c.roll and not c.replace]
    lines.append(
        f"**{len(diff.added)} to add, {len(diff.changed)} to change ({len(replaced)} replaced), "
        f"{len(diff.removed)} to delete.**"
    )
    lines.append("")
    if diff.empty:
        lines += ["No changes.", ""]
        return "\n".join(lines)
    if replaced or rolled:
        lines += ["#### Replacements", ""]
        rows = [[_label(c.type, c.name), "**replace**", ", ".join(f"`{p}`" for p in c.replace)] for c in replaced]
        rows += [[_label(c.type, c.name), "nodes replaced (in-place update)", ", ".join(f"`{p}`" for p in c.roll)]
                 for c in rolled]
        lines += _table(["resource", "effect", "because of"], rows) + [""]
        lines += ["<sub>From the pinned providers' schemas (ForceNew properties) and update APIs: "
                  "`mlinfra/catalog/replacement.py` lists each fact with its source.</sub>", ""]
    if diff.mig:
        lines += _mig_lines(diff.mig)
    if diff.capacity_known:
        lines += _capacity_lines(diff.capacity)
    else:
        lines += ["GPU capacity: not compared (a render without `capacity.json`).", ""]
    if diff.quotas:
        lines += ["#### Queue quotas", ""]
        lines += _table(
            ["cluster", "queue", "quota", "before", "after"],
            [[q.cluster, f"`{q.queue}`", f"`{q.resource}`", _cell(q.before), _cell(q.after)] for q in diff.quotas],
        ) + [""]
    if diff.added:
        lines += ["#### Added", ""] + [f"- {_label(t, n)}" for t, n in diff.added] + [""]
    if diff.removed:
        lines += ["#### Removed", ""] + [f"- {_label(t, n)}" for t, n in diff.removed] + [""]
    if diff.dependencies:
        lines += ["#### Dependencies (what `pulumi up` waits for)", ""]
        lines += _table(
            ["resource", "now waits for", "no longer waits for"],
            [[_label(d.type, d.name), ", ".join(f"`{n}`" for n in d.added) or "-",
              ", ".join(f"`{n}`" for n in d.removed) or "-"] for d in diff.dependencies],
        ) + [""]
    if diff.changed:
        lines += ["#### Changed", ""]
        for c in diff.changed:
            # Markdown is not rendered inside <summary>, so the name is marked up in HTML there.
            lines += [f"<details><summary><code>{html.escape(c.name)}</code> ({html.escape(c.type)}): "
                      f"{len(c.fields)} field(s){' (replace)' if c.replace else ''}</summary>", ""]
            short = [(p, b, a) for p, b, a in c.fields if inline(b) and inline(a)]
            long = [(p, b, a) for p, b, a in c.fields if not (inline(b) and inline(a))]
            if short:
                lines += _table(["field", "before", "after"], [[f"`{p}`", _cell(b), _cell(a)] for p, b, a in short])
                lines += [""]
            for p, b, a in long:
                lines += [f"`{p}`:", ""] + _fenced(line_diff(b, a)) + [""]
            lines += ["</details>", ""]
    return "\n".join(lines)


def _mig_lines(changes: list[MigChange]) -> list[str]:
    lines = ["#### MIG re-partitioning", ""]
    rows = []
    for m in changes:
        what = (f"layout `{m.after}` redefined in the mig-parted config" if m.redefined
                else f"`{m.before or 'MIG off'}` -> `{m.after or 'MIG off'}`")
        how = ("pool **replaced**: its new nodes come up with the new layout" if m.pool_replaced
               else "**every GPU re-partitioned** in place, GPU pods drained node by node")
        rows.append([f"{m.cluster} / `{m.pool}`", what, how])
    lines += _table(["cluster / pool", "MIG layout", "effect"], rows) + [""]
    if any(not m.pool_replaced for m in changes):
        lines += ["**In-place re-partitioning**: on each node the MIG manager applies the new layout to every GPU and "
                  "needs the GPUs free of user workloads, so the GPU pods of every node are drained (on cloud VMs "
                  "the node may reboot), although the node group or node pool itself is updated in place. Schedule "
                  "it like a node roll.", "", f"<sub>Source: {MIG_REPARTITION_SOURCE}</sub>", ""]
    return lines


def _capacity_lines(rows: list[CapacityRow]) -> list[str]:
    changed = [r for r in rows if r.delta or r.resources_before != r.resources_after]
    totals = [r for r in rows if r.pool is None]
    if not changed:
        total = sum(r.gpus_after for r in totals)
        return [f"GPU capacity unchanged: {total} GPUs at max nodes.", ""]
    lines = ["#### GPU capacity (at max nodes)", ""]
    table = []
    for r in rows:
        if r.pool is not None and r not in changed:
            continue
        where = f"**{r.cluster}** (total)" if r.pool is None else f"{r.cluster} / `{r.pool}`"
        table.append([where, str(r.gpus_before), str(r.gpus_after), _signed(r.delta),
                      _resources_text(r.resources_before), _resources_text(r.resources_after)])
    lines += _table(["cluster / pool", "GPUs before", "GPUs after", "delta", "schedulable before",
                     "schedulable after"], table)
    return lines + [""]


def diff_dirs(base: Path, head: Path, title: str | None = None, missing_ok: bool = False) -> str:
    """Markdown comparing two render directories (`RenderError` when one cannot be read; see `load_render`)."""
    return format_markdown(compute_diff(load_render(base, missing_ok), load_render(head, missing_ok)), title)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlinfra diff", description=__doc__.splitlines()[0],
        epilog="exit codes: 0 diff written; 1 a render is missing or unreadable; 2 bad arguments. With "
               "--detailed-exitcode: 0 no changes, 1 error, 2 changes.")
    parser.add_argument("base", type=Path, help="render directory of the base branch")
    parser.add_argument("head", type=Path, help="render directory of the pull request")
    parser.add_argument("--title", help="heading of the comment section (e.g. the stack name)")
    parser.add_argument("--out", type=Path, help="also write the Markdown to this file")
    parser.add_argument("--allow-missing", action="store_true",
                        help="a render directory that does not exist is an empty render: the stack is new (BASE "
                             "missing) or removed (HEAD missing). One of the two must exist")
    parser.add_argument("--detailed-exitcode", action="store_true",
                        help="exit 0 when there are no changes, 2 when there are, 1 on error (as terraform plan)")
    parser.add_argument("--output", choices=["markdown", "json"], default="markdown",
                        help="output format on stdout (default: markdown; json: the computed diff's fields)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI entry: `mlinfra diff BASE HEAD [--title T] [--out FILE] [--allow-missing] [--detailed-exitcode]`."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(args_list)
    except SystemExit as exc:
        code = int(exc.code or 0)
        # In detailed mode 2 means "changes": a usage error must not read as one.
        return 1 if code == 2 and "--detailed-exitcode" in args_list else code
    if args.allow_missing and not args.base.exists() and not args.head.exists():
        print(f"mlinfra diff: neither {args.base} nor {args.head} exists", file=sys.stderr)
        return 1
    try:
        result = compute_diff(load_render(args.base, args.allow_missing), load_render(args.head, args.allow_missing))
    except RenderError as err:
        print(f"mlinfra diff: {err}", file=sys.stderr)
        return 1
    text = format_markdown(result, args.title)
    if args.out:
        args.out.write_text(text)
    if args.output == "json":
        import dataclasses
        import json

        print(json.dumps(dataclasses.asdict(result), indent=1, sort_keys=True, default=str))
    else:
        print(text, end="")
    if args.detailed_exitcode:
        return 0 if result.empty else 2
    return 0
