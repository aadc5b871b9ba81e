"""Shared test fixtures: the upstream contract folder and rendering helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The one variable `mlinfra validate` reads its contracts folder from (after --crds, before the per-user cache):
# the tests, like `./run.sh`, point it at ../shared/upstream beside the checkout unless it is already set.
os.environ.setdefault("MLINFRA_UPSTREAM", str(ROOT.parent / "shared" / "upstream"))


def upstream_dir() -> Path:
    """../shared/upstream beside the checkout (or $MLINFRA_UPSTREAM). Missing is a failure, never a skip."""
    path = Path(os.environ["MLINFRA_UPSTREAM"])
    if not (path / "MANIFEST.md").exists():
        pytest.fail(
            f"upstream contract folder not found at {path}: tests that check against upstream CRDs, values and "
            "fact tables need ../shared/upstream beside the checkout (or MLINFRA_UPSTREAM)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def upstream() -> Path:
    """The upstream contract folder; fails the test loudly when it is missing."""
    return upstream_dir()
