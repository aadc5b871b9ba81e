"""Check that the render's file writers give the bytes of their pure-Python references on random documents.

`dump_yaml` sends documents both emitters write alike to libyaml and must equal `reference_dump` (PyYAML's own
emitter, same style); `dump_json` must equal `json.dumps(value, indent=1, sort_keys=True)`. Two families of
documents: awkward ones (tabs, non-ASCII, NEL, BOM, empty keys, YAML look-alikes) that mostly take the slow
path, and manifest-like ones (ASCII, multi-line values, long lines, quotes and colons) that take the fast one.
Stops at the first difference.

    .venv/bin/python benchmarks/check_yaml_identity.py [--examples 20000]
"""

from __future__ import annotations

import argparse
import json
import sys

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlinfra.offline.render_text import both_emitters_agree, dump_json, dump_yaml, reference_dump

_PUNCT = list("-_.:/#'\"{}[],&*!|>%@`?=~")
_AWKWARD = st.sampled_from(list("abcdefghij xyz") + _PUNCT + ["\n", "\t", "é", "日", "\x85", "\ufeff"])
_MANIFEST = st.sampled_from(list("abcdefghij xyz0123456789") + _PUNCT + ["\n", "\n"])
_LOOKALIKES = ["true", "no", "null", "~", "1e3", "0x1F", "08", "1.0", "-", "", " lead", "trail ", "a: b"]
_BLOCKS = ["x\n", "x\n\n", "\n", " x\ny\n", "x \ny", "- a\n- b\n", "#c\n", "a\n\n\nb\n", "  \n", "\n\nx",
           "{\n \"a\": 1\n}"]


def _text(alphabet: st.SearchStrategy[str], extra: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet, max_size=12), st.text(alphabet, min_size=40, max_size=200), st.sampled_from(extra)
    )


def documents(alphabet: st.SearchStrategy[str], keys: st.SearchStrategy[str],
              extra: list[str]) -> st.SearchStrategy[dict]:
    scalar = st.one_of(_text(alphabet, extra), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                       st.booleans(), st.none())
    doc = st.recursive(
        scalar, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
        max_leaves=40,
    )
    return st.dictionaries(keys, doc, min_size=1, max_size=6)


AWKWARD_DOCS = documents(_AWKWARD, _text(_AWKWARD, _LOOKALIKES), _LOOKALIKES)
MANIFEST_DOCS = documents(_MANIFEST, st.text(st.sampled_from(list("abcdefghij-_./0123456789")), min_size=1,
                                              max_size=30), _LOOKALIKES[:-3] + _BLOCKS)


def check(doc: dict) -> bool:
    """Assert both writers on `doc`; True when the YAML took libyaml's path."""
    assert dump_yaml(doc) == reference_dump(doc), doc
    assert yaml.safe_load(dump_yaml(doc)) == doc, doc
    assert dump_json(doc) == json.dumps(doc, indent=1, sort_keys=True), doc
    return both_emitters_agree(doc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    args = parser.parse_args()
    fast = 0
    for family in (AWKWARD_DOCS, MANIFEST_DOCS):

        @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(family)
        def same_bytes(doc: dict) -> None:
            nonlocal fast
            fast += check(doc)

        same_bytes()
    print(f"dump_yaml == reference_dump and dump_json == json.dumps on 2 x {args.examples} random documents "
          f"({fast} took libyaml)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
