"""The `mlinfra` command: render, validate, diff and check environments offline; browse the GPU catalog."""

from __future__ import annotations

import importlib
import sys

# Subcommand -> (module, one-line help). Modules are imported only when their command runs, so
# `mlinfra --help` and `mlinfra catalog` never pay for Pulumi or the cloud SDKs.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("mlinfra.offline.render", "run a stack program under Pulumi's mock runtime and write its resources"),
    "validate": ("mlinfra.offline.validate", "validate a render against Kubernetes schemas, CRDs and CEL rules"),
    "diff": ("mlinfra.offline.diff", "compare two renders as Markdown: changes, replacements, GPU capacity, quotas"),
    "check": ("mlinfra.offline.check", "apply the security rules to a render; list open and waived findings"),
    "catalog": ("mlinfra.catalog.cli", "list GPU models, MIG profiles and cloud instance/machine types"),
    "upstream": ("mlinfra.offline.upstream", "fetch the pinned upstream CRDs and chart values that validate reads"),
}

USAGE = "usage: mlinfra [--version] COMMAND [ARGS...]\n\ncommands:\n" + "".join(
    f"  {name:<10} {text}\n" for name, (_, text) in COMMANDS.items()
) + "\nRun `mlinfra COMMAND --help` for a command's options.\n"


def version() -> str:
    """`mlinfra-pulumi <version>`: the distribution name (what `pip install` takes) and its version."""
    from mlinfra import __version__

    return f"mlinfra-pulumi {__version__}"


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand's `main(argv)`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        print(version())
        return 0
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"mlinfra: unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest))


if __name__ == "__main__":
    sys.exit(main())
