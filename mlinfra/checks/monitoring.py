"""Cross-layer checks of the monitoring section."""

from __future__ import annotations

from collections.abc import Iterator

from mlinfra.problems import Problem
from mlinfra.spec.environment import EnvironmentSpec


def check(env: EnvironmentSpec) -> Iterator[Problem]:
    """Problems of the monitoring section (none are defined yet)."""
    return iter(())
