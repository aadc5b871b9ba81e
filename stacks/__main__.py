"""The platform stack: read `mlinfra:platform`, check it, create the Platform, export what team stacks read."""

import pulumi

from mlinfra.platform import Platform
from mlinfra.spec import SpecError, load_environment

try:
    spec = load_environment(
        pulumi.Config("mlinfra").require_object("platform"), on_warning=lambda p: pulumi.log.warn(str(p))
    )
except SpecError as err:
    # RunError: the Pulumi CLI prints the message (every problem with its path, value and what is allowed)
    # and no Python traceback; nothing has been registered yet.
    raise pulumi.RunError(str(err)) from None
platform = Platform("platform", spec)
# environment, clusters (kubeconfigs are secrets) and teams: what team stacks read through a StackReference.
for name, value in platform.outputs.items():
    pulumi.export(name, value)
