"""Fixtures for the validate contract tests: the upstream CRD folder and the valid fixture objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "validate"


def _by_kind(name: str) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d is not None]
    return {doc["kind"]: doc for doc in docs}


@pytest.fixture(scope="session")
def crds(upstream: Path) -> Path:
    """The upstream CRD folder; a missing folder fails the test (tests/conftest.py), it never skips."""
    return upstream


@pytest.fixture(scope="session")
def valid_crs() -> dict[str, dict[str, Any]]:
    """One valid custom resource per kind, as a GPU platform renders them (fixtures/validate/crs_valid.yaml)."""
    return _by_kind("crs_valid.yaml")


@pytest.fixture(scope="session")
def valid_builtins() -> dict[str, dict[str, Any]]:
    """Valid built-in objects (fixtures/validate/builtins_valid.yaml)."""
    return _by_kind("builtins_valid.yaml")


@pytest.fixture(scope="session")
def render_fixture() -> Path:
    """A small render directory (manifests/ and helm/) that validates clean."""
    return FIXTURES / "render"
