"""The platform stack: read `mlinfra:platform`, check it, create the Platform, export what team stacks read."""

import pulumi

from mlinfra.platform import Platform
from mlinfra.spec import load_environment

spec = load_environment(
    pulumi.Config("mlinfra").require_object("platform"), on_warning=lambda p: pulumi.log.warn(str(p))
)
platform = Platform("platform", spec)
# environment, clusters (kubeconfigs are secrets) and teams: what team stacks read through a StackReference.
for name, value in platform.outputs.items():
    pulumi.export(name, value)
