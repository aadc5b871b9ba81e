"""The one way the tests assert that a spec is refused: at a field path, with a message, before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from mlinfra.problems import Problem, SpecError
from mlinfra.spec import load_environment


def assert_refused(spec: Any, path: str, text: str) -> list[Problem]:
    """`load_environment(spec)` raises, one of its problems sits at `path` with `text` in its message, and the
    error the user sees names that path. Returns the problems at `path`."""
    with pytest.raises(SpecError) as info:
        load_environment(spec)
    matching = [p for p in info.value.problems if p.path == path]
    assert matching, f"no problem at {path}; got {[str(p) for p in info.value.problems]}"
    assert any(text in p.message for p in matching), [p.message for p in matching]
    assert f"{path}: " in str(info.value)
    return matching


# A created cluster's deployers, as the stacks declare them: a VPN's public egress (RFC 5737 documentation
# range). Tests about other things spread these into their cluster specs so the endpoint check is satisfied.
DEPLOYERS = {"public_access_cidrs": ["203.0.113.0/24"]}
# The VPC of a created EKS cluster (required: subnet lookup without it would span every VPC).
AWS_NETWORK = {"vpc_id": "vpc-0a1b2c3d4e5f60718",
               "subnet_ids": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]}

# Both, for a created EKS cluster in a test about something else.
EKS_REACHABLE = {"endpoint": DEPLOYERS, "network": AWS_NETWORK}
