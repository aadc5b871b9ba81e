"""The platform stack: read `mlinfra:platform`, check it, create the Platform, export what team stacks need."""

import pulumi

from mlinfra.platform import Platform
from mlinfra.spec import load_environment

spec = load_environment(pulumi.Config("mlinfra").require_object("platform"))
platform = Platform("platform", spec)
pulumi.export("environment", spec.environment)
pulumi.export("clusters", platform.outputs["clusters"])
