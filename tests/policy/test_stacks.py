"""The project's own stacks pass every rule, with only documented waivers."""

from __future__ import annotations

from policy_fixtures import ROOT, WAIVERS, stack_names

from mlinfra.policy import all_rules, evaluate, load_records, load_waivers_file


def test_the_three_environments_exist():
    # The stacks test below is only as good as the stacks it renders.
    assert {"dev", "staging", "prod"} <= set(stack_names())


def test_rendered_stacks_have_no_open_findings(rendered):
    waivers = load_waivers_file(WAIVERS)
    open_findings, errors, used = [], [], set()
    for stack, path in rendered.items():
        report = evaluate(load_records(path), waivers)
        open_findings += [f"{stack}: {f.line()}" for f in report.findings]
        errors += [f"{stack}: {e}" for e in report.errors]
        assert all(f.waived for f in report.waived)
        used |= {(f.rule, f.resource) for f in report.waived}
    assert errors == []
    assert open_findings == []
    # A waiver in the project file that no stack needs any more hides the next real finding: remove it.
    assert [w for w in waivers if (w.rule, w.resource) not in used] == []


def test_rendered_stacks_exercise_the_rules(rendered):
    # Guard against a render layout change that would let every rule pass vacuously.

    types = {r["type"] for path in rendered.values() for r in load_records(path)}
    kinds = {(r["inputs"] or {}).get("kind") for path in rendered.values() for r in load_records(path)}
    applied = {rule.id for rule in all_rules() if set(rule.types) & types or set(rule.kinds) & kinds}
    for expected in ("MLI-EKS-001", "MLI-EKS-010", "MLI-GKE-005", "MLI-HELM-001", "MLI-PSA-001", "MLI-SEC-001",
                     "MLI-MON-001", "MLI-KARP-002"):
        assert expected in applied


def test_example_goldens_have_no_open_findings():
    # The examples are the workloads users copy: their Jobs and Deployments must pass the pod rules.
    goldens = sorted((ROOT / "examples").glob("*/golden/resources.json"))
    assert goldens, "no example goldens found"
    for path in goldens:
        report = evaluate(load_records(path.parent))
        assert [f.line() for f in report.findings] == [], path
        assert report.errors == [], path


def test_security_doc_lists_every_rule():
    text = (ROOT / "docs" / "security.md").read_text()
    missing = [r.id for r in all_rules() if f"| {r.id} | {r.severity} |" not in text]
    assert missing == []
