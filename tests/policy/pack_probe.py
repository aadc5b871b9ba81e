"""Run the policy pack's validate functions on recorded resources; runs in the pulumi-policy venv.

Reads {"records": [...], "waivers": [...]} on stdin (records as in a render's resources.json), hands each
record to every policy through pulumi_policy's own args objects, as the engine would, and prints the
violations as JSON: [{"policy", "resource", "message"}].
"""

from __future__ import annotations

import json
import sys

from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.policy import PolicyCustomTimeouts
from pulumi_policy.proxy import unknown_checking_proxy

from mlinfra.policy.crossguard import policies
from mlinfra.policy.waivers import parse_waivers


def link_graph(stack: list[PolicyResource], records: list[dict]) -> None:
    """Parents, dependencies and property dependencies as the engine hands them: PolicyResource objects."""
    by_name = {r.name: r for r in stack}
    for resource, record in zip(stack, records, strict=True):
        resource.parent = by_name.get(record.get("parent"))
        resource.dependencies = [by_name[d] for d in record.get("dependencies") or () if d in by_name]
        resource.property_dependencies = {
            key: [by_name[d] for d in deps if d in by_name]
            for key, deps in (record.get("propertyDependencies") or {}).items()
        }


def main() -> None:
    data = json.load(sys.stdin)
    pack = policies(parse_waivers(data.get("waivers", []), "stdin"))
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    resources = []
    for r in data["records"]:
        urn = f"urn:pulumi:test::mlinfra::{r['type']}::{r['name']}"
        provider = PolicyProviderResource("pulumi:providers:x", {}, f"urn:provider:{r['provider']}",
                                          r["provider"]) if r.get("provider") else None
        props = unknown_checking_proxy(r["inputs"])
        resources.append((r, urn, provider, props))
    out = []
    for policy in pack:
        if isinstance(policy, ResourceValidationPolicy):
            for r, urn, provider, props in resources:
                def report(message, _urn=None, name=r["name"], policy=policy):
                    out.append({"policy": policy.name, "resource": name, "message": message})

                policy.validate(ResourceValidationArgs(r["type"], props, urn, r["name"], opts, provider), report)
        else:
            stack = [PolicyResource(r["type"], props, urn, r["name"], opts, provider, None, [], {})
                     for r, urn, provider, props in resources]
            link_graph(stack, [r for r, *_ in resources])

            def report_stack(message, urn=None, policy=policy):
                out.append({"policy": policy.name, "resource": (urn or "").rsplit("::", 1)[-1], "message": message})

            policy.validate(StackValidationArgs(stack), report_stack)
    print(json.dumps({"policies": [p.name for p in pack], "violations": out}))


if __name__ == "__main__":
    main()
