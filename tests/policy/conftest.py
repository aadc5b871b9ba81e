"""Renders of the project's stacks, made once per session for the policy, pack and checkov tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from policy_fixtures import ROOT, stack_names


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """{stack: render directory} for every stack of the project."""
    from mlinfra.offline.render import render_stack

    out = tmp_path_factory.mktemp("renders")
    dirs = {}
    for stack in stack_names():
        render_stack(stack, out / stack, project_dir=ROOT)
        dirs[stack] = out / stack
    return dirs
