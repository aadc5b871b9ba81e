"""The Karpenter durations the spec accepts are exactly those the NodePool CRD accepts in the field they fill.

Source: karpenter.sh_nodepools CRD v1.14.1 (../shared/upstream/karpenter/v1.14.1, aws/karpenter-provider-aws@v1.14.1
pkg/apis/crds): `spec.disruption.consolidateAfter` and `spec.template.spec.expireAfter` match
^(([0-9]+(s|m|h))+|Never)$, while `spec.template.spec.terminationGracePeriod` matches ^([0-9]+(s|m|h))+$, without
`Never`. A value the spec passes and the CRD refuses fails `pulumi up` at the NodePool, after the cluster exists.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from spec_assertions import AWS_NETWORK, DEPLOYERS

from mlinfra.problems import SpecError
from mlinfra.spec import load_environment

# spec field -> the NodePool property it fills (path below spec.versions[0].schema.openAPIV3Schema.properties.spec)
FIELDS = {
    "consolidate_after": ("disruption", "consolidateAfter"),
    "expire_after": ("template", "spec", "expireAfter"),
    "termination_grace_period": ("template", "spec", "terminationGracePeriod"),
}
VALUES = ["24h", "1h30m", "90s", "Never", "1d", "24", "", "10 m"]


def crd_pattern(upstream, path: tuple[str, ...]) -> re.Pattern[str]:
    crd = yaml.safe_load((upstream / "karpenter" / "v1.14.1" / "karpenter.sh_nodepools.yaml").read_text())
    node: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    for key in path:
        node = node["properties"][key]
    return re.compile(node["pattern"])


def accepted(field: str, value: str) -> bool:
    spec = {"environment": "dev", "clusters": [{
        "name": "eks", "cloud": "aws", "region": "us-east-1", "network": AWS_NETWORK, "endpoint": DEPLOYERS,
        "karpenter": {"ami_version": "v20260714", field: value},
        "pools": [{"name": "k", "gpu": "L4-24GB", "instance_types": ["g6.xlarge"], "max_nodes": 2,
                   "provisioner": "karpenter"}]}]}
    try:
        load_environment(spec)
    except SpecError as err:
        assert any(p.path.endswith(f"karpenter.{field}") for p in err.problems), [str(p) for p in err.problems]
        return False
    return True


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("field", list(FIELDS))
def test_spec_accepts_what_the_nodepool_crd_accepts(upstream, field: str, value: str) -> None:
    assert accepted(field, value) == bool(crd_pattern(upstream, FIELDS[field]).match(value)), (field, value)
