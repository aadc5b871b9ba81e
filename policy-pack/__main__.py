"""mlinfra's security rules as a Pulumi CrossGuard pack: `pulumi preview --policy-pack policy-pack`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import mlinfra  # noqa: F401
except ImportError:  # running from the checkout without `pip install -e ..`
    sys.path.insert(0, str(HERE.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from mlinfra.policy.crossguard import pack_waivers, policies  # noqa: E402

PolicyPack(
    name="mlinfra-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(pack_waivers(HERE, os.environ.get("MLINFRA_WAIVERS"))),
)
