"""The render's fast YAML path writes exactly what `yaml.safe_dump(doc, sort_keys=True)` writes.

Render output must not depend on whether PyYAML was built with libyaml, so the fast path may only take
documents both emitters write identically. The benchmark script checks 20000 random documents; this test
keeps a smaller sample, and the awkward cases, in every run.
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from mlinfra.offline.render import dump_yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from check_yaml_identity import _DOC, _TEXT  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.dictionaries(_TEXT, _DOC, min_size=1, max_size=6))
def test_fast_path_matches_safe_dump_on_random_documents(doc):
    assert dump_yaml(doc) == yaml.safe_dump(doc, sort_keys=True)


@pytest.mark.parametrize(
    "doc",
    [
        {"": "empty key"},
        {"long": "word " * 30},
        {"k" * 70: "a value that pushes past the fold column"},
        {"unicode": "日本語 " * 20, "nel": "a\x85b", "bom": "\ufeffx"},
        {"multi": "line one\nline two\n", "tab": "a\tb"},
        {"nested": [{"a": ["x " * 40]}], "ascii": string.printable},
    ],
)
def test_fast_path_matches_safe_dump_on_folding_and_escapes(doc):
    assert dump_yaml(doc) == yaml.safe_dump(doc, sort_keys=True)


def test_cache_returns_the_same_text_for_equal_documents():
    cache: dict[str, str] = {}
    first = dump_yaml({"b": 1, "a": [1, 2]}, cache)
    assert dump_yaml({"a": [1, 2], "b": 1}, cache) is first
    assert len(cache) == 1
