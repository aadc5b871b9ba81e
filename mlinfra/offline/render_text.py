"""The text of a render's files: YAML with sorted keys, one line per value and multi-line strings as literal
blocks; and `resources.json`, written faster than `json.dumps` with an indent.

The files are written for review in pull requests. A long string stays on one line (no folding at 80 columns),
so an edit shows as that one line changed. A multi-line string (a dashboard's JSON, the device plugin's config,
mig-parted's layouts, a rule's description) is a literal block (`|`), so an edit to it shows as the lines that
changed rather than as one escaped, re-folded string.

The text must not depend on whether PyYAML was built with libyaml: a render on a laptop and one in CI give the
same bytes. Both emitters write the same bytes for documents whose strings are ASCII, printable (apart from line
breaks in values), never empty as keys and never end in a blank line (libyaml closes a `|+` block at the end of a
document with `...`, PyYAML does not). Such documents, which is every document mlinfra renders today, go to
libyaml; any other goes to PyYAML's own emitter. `tests/unit/test_render_yaml.py` keeps the two equal on random
documents.
"""

from __future__ import annotations

import io
import json
from json.encoder import encode_basestring_ascii
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Wide enough that nothing folds; libyaml keeps the width in a C int.
WIDTH = 2**31 - 1
_TAG = "tag:yaml.org,2002:"


def _represent_str(dumper: yaml.SafeDumper, value: str) -> ScalarNode:
    return dumper.represent_scalar(_TAG + "str", value, style="|" if "\n" in value else None)


class ReviewDumper(yaml.SafeDumper):
    """PyYAML's safe dumper writing multi-line strings as literal blocks: the reference for the render's YAML."""


ReviewDumper.add_representer(str, _represent_str)

_CDumper = getattr(yaml, "CSafeDumper", None)


def reference_dump(doc: Any) -> str:
    """The render's YAML for `doc`, written by PyYAML's pure-Python emitter (what `dump_yaml` must equal)."""
    return yaml.dump(doc, Dumper=ReviewDumper, sort_keys=True, width=WIDTH)


def _key_both_emitters_agree(key: Any) -> bool:
    return not isinstance(key, str) or (key != "" and key.isascii() and key.isprintable())


def _value_both_emitters_agree(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not value.isascii():
        return False
    if "\n" not in value:
        return value.isprintable()
    return value != "\n" and not value.endswith("\n\n") and all(line.isprintable() for line in value.split("\n"))


def both_emitters_agree(doc: Any) -> bool:
    """True when libyaml and PyYAML's emitter write `doc` identically (see the module's docstring)."""
    if isinstance(doc, dict):
        return all(_key_both_emitters_agree(k) and both_emitters_agree(v) for k, v in doc.items())
    if isinstance(doc, list):
        return all(both_emitters_agree(v) for v in doc)
    return _value_both_emitters_agree(doc)


class _SharedContainerError(Exception):
    """The document holds one container twice: PyYAML would write an anchor and an alias."""


if _CDumper is not None:

    class _FastDumper(_CDumper):  # type: ignore[valid-type,misc]
        """libyaml's emitter; the resolver's answer for a scalar is remembered across documents."""

        _resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            if kind is not ScalarNode:
                return super().resolve(kind, value, implicit)
            key = (value, (bool(implicit[0]), bool(implicit[1])))
            tag = self._resolved.get(key)
            if tag is None:
                if len(self._resolved) > 200_000:  # a long-lived process rendering many stacks stays bounded
                    self._resolved.clear()
                tag = self._resolved[key] = super().resolve(kind, value, implicit)
            return tag

    _FastDumper.add_representer(str, _represent_str)
    # The remembered answers are only valid while no resolver depends on a node's path.
    assert not _FastDumper.yaml_path_resolvers


def _node(value: Any, dumper: Any, seen: set[int]) -> Node:
    """The node SafeRepresenter builds for `value` (sorted keys, block style), without its per-node dispatch."""
    kind = type(value)
    if kind is str:
        return ScalarNode(_TAG + "str", value, style="|" if "\n" in value else None)
    if kind is dict or kind is list:
        if id(value) in seen:
            raise _SharedContainerError
        seen.add(id(value))
        if kind is dict:
            pairs = [(_node(k, dumper, seen), _node(v, dumper, seen)) for k, v in sorted(value.items())]
            return MappingNode(_TAG + "map", pairs, flow_style=False)
        return SequenceNode(_TAG + "seq", [_node(v, dumper, seen) for v in value], flow_style=False)
    if kind is bool:
        return ScalarNode(_TAG + "bool", "true" if value else "false")
    if kind is int:
        return ScalarNode(_TAG + "int", str(value))
    if value is None:
        return ScalarNode(_TAG + "null", "null")
    node: Node = dumper.represent_data(value)  # floats and anything unusual: the representer itself
    return node


def _libyaml_dump(doc: Any) -> str:
    stream = io.StringIO()
    dumper = _FastDumper(stream, width=WIDTH, sort_keys=True)
    try:
        node = _node(doc, dumper, set())
    except (_SharedContainerError, TypeError):  # a shared container, or keys that do not sort: the representer decides
        return yaml.dump(doc, Dumper=_FastDumper, sort_keys=True, width=WIDTH)
    dumper.open()
    dumper.serialize(node)
    dumper.close()
    return stream.getvalue()


def dump_yaml(doc: Any) -> str:
    """The render's YAML for `doc`: `reference_dump(doc)`, byte for byte, faster."""
    return _libyaml_dump(doc) if _CDumper is not None and both_emitters_agree(doc) else reference_dump(doc)


class _NotPlainError(Exception):
    """A value `_json` does not write itself (a non-string key, a float): `json.dumps` writes the whole."""


def _json(value: Any, indent: str) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = indent + " "
        if any(type(k) is not str for k in value):
            raise _NotPlainError
        items = [inner + encode_basestring_ascii(k) + ": " + _json(v, inner) for k, v in sorted(value.items())]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = indent + " "
        return "[\n" + ",\n".join([inner + _json(v, inner) for v in value]) + "\n" + indent + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    raise _NotPlainError


def dump_json(value: Any) -> str:
    """`json.dumps(value, indent=1, sort_keys=True)`, byte for byte, in about half the time.

    With an indent `json` encodes in Python, one generator step per token; plain data (string keys, strings,
    integers, booleans, nulls) is written here with the C string encoder and joins instead.
    """
    try:
        return _json(value, "")
    except (_NotPlainError, RecursionError):
        return json.dumps(value, indent=1, sort_keys=True)
