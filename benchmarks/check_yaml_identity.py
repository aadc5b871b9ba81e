"""Check that `mlinfra.offline.render.dump_yaml` writes the same bytes as `yaml.safe_dump(doc, sort_keys=True)`.

The render picks libyaml for documents whose scalars cannot fold; this throws random manifest-like documents
(nested mappings and lists, keys and strings with spaces, long words, quotes, colons, newlines, non-ASCII,
numbers, booleans, nulls) at both and stops at the first difference.

    .venv/bin/python benchmarks/check_yaml_identity.py [--examples 20000]
"""

from __future__ import annotations

import argparse
import sys

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlinfra.offline.render import dump_yaml

_ALPHABET = st.sampled_from(list("abcdefghij xyz-_.:/#'\"{}[],&*!|>%@`?=~") + ["\n", "\t", "é", "日", "\x85", "\ufeff"])
_TEXT = st.one_of(
    st.text(_ALPHABET, max_size=12),
    st.text(_ALPHABET, min_size=40, max_size=120),
    st.sampled_from(["true", "no", "null", "~", "1e3", "0x1F", "08", "1.0", "-", "", " lead", "trail ", "a: b"]),
)
_SCALAR = st.one_of(_TEXT, st.integers(-10**12, 10**12), st.floats(allow_nan=False), st.booleans(), st.none())
_DOC = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=5)),
    max_leaves=40,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    args = parser.parse_args()

    @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(_TEXT, _DOC, min_size=1, max_size=6))
    def same_bytes(doc: dict) -> None:
        assert dump_yaml(doc) == yaml.safe_dump(doc, sort_keys=True), doc

    same_bytes()
    print(f"dump_yaml == yaml.safe_dump on {args.examples} random documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
