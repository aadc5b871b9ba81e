"""Security rules shared by `mlinfra check` and the Pulumi policy pack: pure functions over plain records."""

from mlinfra.policy.engine import Report, all_rules, evaluate, load_records
from mlinfra.policy.model import Finding, Rule
from mlinfra.policy.waivers import ANNOTATION, Waiver, WaiverError, load_waivers_file

__all__ = [
    "ANNOTATION",
    "all_rules",
    "Finding",
    "Report",
    "Rule",
    "Waiver",
    "WaiverError",
    "evaluate",
    "load_records",
    "load_waivers_file",
]
