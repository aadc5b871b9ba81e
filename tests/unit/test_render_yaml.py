"""The render's file writers: review-friendly YAML that does not depend on libyaml, and fast exact JSON.

`dump_yaml` must equal `reference_dump` (PyYAML's pure-Python emitter with the same style) whether or not a
document takes the libyaml path, so a render gives the same bytes on every machine. The benchmark script checks
2 x 20000 random documents; this test keeps smaller samples of both families, and the awkward cases, in every run.
"""

from __future__ import annotations

import json
import string
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlinfra.offline.render_text import both_emitters_agree, dump_json, dump_yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from check_yaml_identity import AWKWARD_DOCS, MANIFEST_DOCS, check  # noqa: E402

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@_SETTINGS
@given(AWKWARD_DOCS)
def test_writers_match_their_references_on_awkward_documents(doc):
    check(doc)


@_SETTINGS
@given(MANIFEST_DOCS)
def test_writers_match_their_references_on_manifest_like_documents(doc):
    check(doc)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.lists(MANIFEST_DOCS, min_size=60, max_size=60))
def test_manifest_like_documents_mostly_take_the_libyaml_path(docs):
    # Otherwise the identity above would only ever compare PyYAML with itself.
    assert sum(both_emitters_agree(d) for d in docs) >= 30


@pytest.mark.parametrize(
    "doc",
    [
        {"": "empty key"},
        {"long": "word " * 30},
        {"k" * 70: "a value that would have folded at column 80"},
        {"unicode": "日本語 " * 20, "nel": "a\x85b", "bom": "\ufeffx"},
        {"multi": "line one\nline two\n", "tab": "a\tb", "keep": "x\n\n", "strip": "x\ny"},
        {"nested": [{"a": ["x " * 40]}], "ascii": string.printable},
        {"shared": [{"a": 1}] * 2},
        {1: "int keys", 2: {"float": 0.5, "big": 1e300, "neg": -0.0}},
    ],
)
def test_awkward_cases(doc):
    check(doc)


def test_multi_line_strings_are_literal_blocks_and_long_lines_stay_whole():
    dashboard = json.dumps({"title": "GPU", "panels": [{"id": 1}]}, indent=2) + "\n"
    text = dump_yaml({"data": {"gpu.json": dashboard}, "description": "word " * 40})
    assert 'gpu.json: |\n    {\n      "title": "GPU",\n      "panels": [\n' in text
    # `data:`, `gpu.json: |`, the dashboard's own lines, and the description on one line
    assert text.count("\n") == 2 + dashboard.count("\n") + 1
    assert yaml.safe_load(text)["data"]["gpu.json"] == dashboard


def test_json_writer_equals_json_dumps():
    value = [{"b": [1, True, None, "é\n\"q\""], "a": {}, "c": [], "d": {"x": -3}}]
    assert dump_json(value) == json.dumps(value, indent=1, sort_keys=True)
