"""`mlinfra check DIR`: apply the security rules to a render and list open and waived findings."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from mlinfra.policy import Report, WaiverError, evaluate, load_records, load_waivers_file


def format_report(report: Report, render_dir: Path) -> str:
    """The report as Markdown-friendly text: open findings first, then waived ones with their reasons."""
    lines = [f"mlinfra check {render_dir}: {len(report.findings)} finding(s), {len(report.waived)} waived"]
    if report.errors:
        lines += ["", "Waiver errors:"] + [f"  {e}" for e in report.errors]
    if report.findings:
        lines += ["", "Findings:"] + [f"  {f.line()}" for f in sorted(report.findings, key=_order)]
    if report.waived:
        lines += ["", "Waived:"] + [f"  {f.line()}" for f in sorted(report.waived, key=_order)]
    if report.unused_waivers:
        lines += ["", "Waivers that matched nothing (remove them):"]
        lines += [f"  {w.rule} {w.resource} ({w.origin})" for w in report.unused_waivers]
    return "\n".join(lines) + "\n"


_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _order(f: object) -> tuple:
    return (_SEVERITY_ORDER.get(f.severity, 9), f.rule, f.resource, f.message)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    """CLI entry: exit 0 when every finding is waived, 1 on open findings or bad waivers, 2 on unusable input."""
    parser = argparse.ArgumentParser(prog="mlinfra check", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="a render directory (from `mlinfra render`)")
    parser.add_argument("--waivers", type=Path, help="YAML list of {rule, resource, reason} for cloud resources")
    parser.add_argument("--output", choices=["text", "json"], default="text", help="output format (default: text)")
    parser.add_argument("--json", action="store_const", const="json", dest="output", help="same as --output json")
    args = parser.parse_args(argv)
    if (args.dir / "REFUSED.md").is_file():
        print(f"mlinfra check: {args.dir}: the last render of this stack was refused; the folder holds no current "
              "render (see REFUSED.md)", file=sys.stderr)
        return 1
    try:
        records = load_records(args.dir)
        waivers = load_waivers_file(args.waivers) if args.waivers else []
    except (FileNotFoundError, WaiverError) as err:
        print(f"mlinfra check: {err}", file=sys.stderr)
        return 2
    report = evaluate(records, waivers)
    if args.output == "json":
        print(json.dumps({
            "findings": [asdict(f) for f in report.findings],
            "waived": [asdict(f) for f in report.waived],
            "errors": report.errors,
            "unused_waivers": [asdict(w) for w in report.unused_waivers],
        }, indent=1, sort_keys=True))
    else:
        print(format_report(report, args.dir), end="")
    return 0 if report.ok else 1
