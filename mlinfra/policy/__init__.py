"""Security rules shared by `mlinfra check` and the Pulumi policy pack: pure functions over plain records."""

from mlinfra.policy.engine import Report, evaluate, load_records, rules
from mlinfra.policy.model import Finding, Rule
from mlinfra.policy.waivers import ANNOTATION, Waiver, WaiverError, load_waivers_file

__all__ = [
    "ANNOTATION",
    "Finding",
    "Report",
    "Rule",
    "Waiver",
    "WaiverError",
    "evaluate",
    "load_records",
    "load_waivers_file",
    "rules",
]
