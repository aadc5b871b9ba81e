"""The dependency graph of a render: what `pulumi up` waits for before it creates each resource.

A resource waits for three kinds of resources, all recorded in `resources.json`:

- its `dependencies`: `depends_on` and the resources whose Outputs its inputs use (components expanded to
  their custom-resource descendants, as the SDK sends them to the engine);
- its `provider`: a resource is created only once its provider is configured (a Kubernetes provider once the
  cluster it reads the kubeconfig of exists);
- its `parent`: a child is registered only after its parent's URN is known, and a component's URN is known
  only after the component's own `depends_on` are done, so a component's dependencies hold back all of its
  children (the Python SDK's `prepare_resource` awaits the parent's URN).

Records are `resources.json` entries (or what the policy engine hands a stack policy, see
`mlinfra.policy.crossguard`). A resource is named by its `name`, or `<type>::<name>` when two resources share
a name (the same rule as `mlinfra.offline.render.resource_refs`). Pure data, no Pulumi imports.
"""

from __future__ import annotations

import graphlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The components that own one cluster each: everything below one of them belongs to that cluster.
CLUSTER_COMPONENT_TYPES = ("mlinfra:aws:EksCluster", "mlinfra:gcp:GkeCluster")
PROVIDER_PREFIX = "pulumi:providers:"


def record_refs(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The reference of each record, in order: its name, or `<type>::<name>` when the name is not unique."""
    counts = Counter(str(r.get("name")) for r in records)
    return [str(r.get("name")) if counts[str(r.get("name"))] == 1 else f"{r.get('type')}::{r.get('name')}"
            for r in records]


class Graph:
    """Resources (by reference) and what each waits for; see the module docstring for the three edges."""

    def __init__(self, records: Sequence[Mapping[str, Any]]):
        self.records: dict[str, Mapping[str, Any]] = {}
        for ref, record in zip(record_refs(records), records, strict=True):
            self.records[ref] = record
        by_name: dict[str, str] = {}
        for ref, record in self.records.items():
            by_name.setdefault(str(record.get("name")), ref)
        self._by_name = by_name
        self.edges: dict[str, tuple[str, ...]] = {ref: self._waits(record) for ref, record in self.records.items()}
        self._reach: dict[str, frozenset[str]] = {}

    def resolve(self, ref: Any) -> str | None:
        """The reference of a dependency, parent or provider as a record names it (None when unknown)."""
        if ref is None:
            return None
        text = str(ref)
        if text in self.records:
            return text
        return self._by_name.get(text)

    def _waits(self, record: Mapping[str, Any]) -> tuple[str, ...]:
        found = {self.resolve(d) for d in record.get("dependencies") or ()}
        found.add(self.resolve(record.get("parent")))
        found.add(self.resolve(record.get("provider")))
        found.discard(None)
        return tuple(sorted(r for r in found if r is not None))

    def direct(self, ref: str) -> tuple[str, ...]:
        """What `ref` waits for directly: its dependencies, its parent and its provider."""
        return self.edges.get(ref, ())

    def reach(self, ref: str) -> frozenset[str]:
        """Everything `ref` waits for, directly or transitively (memoised; the graph must have no cycle)."""
        if ref in self._reach:
            return self._reach[ref]
        # Iterative post-order walk: deep chains must not hit the recursion limit.
        stack: list[tuple[str, bool]] = [(ref, False)]
        on_path: set[str] = set()
        while stack:
            node, expanded = stack.pop()
            if node in self._reach:
                continue
            if expanded:
                acc: set[str] = set()
                for dep in self.edges.get(node, ()):
                    acc.add(dep)
                    acc |= self._reach.get(dep, frozenset())
                self._reach[node] = frozenset(acc)
                on_path.discard(node)
                continue
            on_path.add(node)
            stack.append((node, True))
            stack.extend((d, False) for d in self.edges.get(node, ()) if d not in self._reach and d not in on_path)
        return self._reach[ref]

    def cycle(self) -> list[str] | None:
        """One dependency cycle as `[a, b, ..., a]`, or None when the graph is acyclic."""
        sorter = graphlib.TopologicalSorter(self.edges)
        try:
            sorter.prepare()
        except graphlib.CycleError as err:
            return list(reversed(err.args[1]))
        return None

    def order(self) -> list[str]:
        """Every resource after everything it waits for (ties by reference); raises `graphlib.CycleError`."""
        sorter = graphlib.TopologicalSorter(self.edges)
        sorter.prepare()
        out: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            out += ready
            sorter.done(*ready)
        return out

    def ancestors(self, ref: str) -> Iterable[str]:
        """The parent chain of `ref`, nearest first."""
        seen = {ref}
        parent = self.resolve(self.records[ref].get("parent"))
        while parent is not None and parent not in seen:
            yield parent
            seen.add(parent)
            parent = self.resolve(self.records[parent].get("parent"))

    def cluster_of(self, ref: str) -> str | None:
        """The cluster a resource belongs to: its nearest cluster component ancestor (or itself), else the
        cluster its provider is named after (`<cluster>-k8s`, `<cluster>-aws`, `<cluster>-gcp`), else None."""
        record = self.records[ref]
        if record.get("type") in CLUSTER_COMPONENT_TYPES:
            return str(record.get("name"))
        for parent in self.ancestors(ref):
            if self.records[parent].get("type") in CLUSTER_COMPONENT_TYPES:
                return str(self.records[parent].get("name"))
        provider = self.resolve(record.get("provider"))
        if provider is not None and provider != ref:
            return self.cluster_of(provider)
        if str(record.get("type", "")).startswith(PROVIDER_PREFIX):
            name = str(record.get("name"))
            for suffix in ("-k8s", "-aws", "-gcp"):
                if name.endswith(suffix):
                    return name[: -len(suffix)]
        return None

    def is_custom(self, ref: str) -> bool:
        """True for resources a provider creates (not components, not providers)."""
        type_ = str(self.records[ref].get("type", ""))
        return not type_.startswith(PROVIDER_PREFIX) and not _is_component_type(type_)


def _is_component_type(type_: str) -> bool:
    # Provider types read `<package>:<module>:<Type>` with a known package; mlinfra's own components and the
    # Pulumi stack are the only component packages in a render.
    return type_.startswith("mlinfra:") or type_ == "pulumi:pulumi:Stack"
