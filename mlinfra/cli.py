"""The `mlinfra` command: render, validate, diff and check environments offline; browse the GPU catalog."""

from __future__ import annotations

import importlib
import os
import sys
import traceback

# Subcommand -> (module, one-line help). Modules are imported only when their command runs, so
# `mlinfra --help` and `mlinfra catalog` never pay for Pulumi or the cloud SDKs.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("mlinfra.offline.render", "run a stack program under Pulumi's mock runtime and write its resources"),
    "validate": ("mlinfra.offline.validate", "validate manifests (a render or any folder of YAML) against schemas"),
    "diff": ("mlinfra.offline.diff", "compare two renders as Markdown: changes, replacements, GPU capacity, quotas"),
    "check": ("mlinfra.offline.check", "apply the security rules to a render; list open and waived findings"),
    "catalog": ("mlinfra.catalog.cli", "list GPU models, MIG profiles, cloud instance/machine types and regions"),
    "upstream": ("mlinfra.offline.upstream", "fetch the pinned upstream CRDs and chart values that validate reads"),
}

# Exit codes of every command. 2 is argparse's own code for a bad command line; 70 is EX_SOFTWARE of
# sysexits.h; 130 and 141 are what a shell reports for a process ended by SIGINT and SIGPIPE.
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141

EXIT_CODES = f"""exit codes:
  {EXIT_OK:<3} success: rendered; no problems (validate); no open findings (check); catalog listed
  {EXIT_REFUSED:<3} the input was checked and refused: spec, stack file or program input problems (render), schema
      problems (validate), open findings or bad waivers (check); each problem is printed with its path, the
      value received and what is allowed
  {EXIT_USAGE:<3} usage: unknown command or option, a file or folder that does not exist, cannot be written or is
      not what the command needs (no Pulumi.yaml, not a render, unknown stack)
  {EXIT_INTERNAL:<3} internal error: a bug in mlinfra or an unexpected failure of the stack program (a traceback is
      printed; please report it)
  {EXIT_INTERRUPTED:<3} interrupted (Ctrl-C)
  {EXIT_PIPE_CLOSED:<3} the reader of the output went away (`mlinfra catalog mig | head`); nothing is printed
`diff --detailed-exitcode` reads as terraform plan's: 0 no changes, 2 changes, 1 error (`mlinfra diff --help`).
"""

USAGE = "usage: mlinfra [--version] COMMAND [ARGS...]\n\ncommands:\n" + "".join(
    f"  {name:<10} {text}\n" for name, (_, text) in COMMANDS.items()
) + "\nRun `mlinfra COMMAND --help` for a command's options. `--output json` prints machine-readable results\n" \
    "(catalog, validate, check, diff).\n\n" + EXIT_CODES


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by an object without a descriptor (tests)
        pass


def run_command(command: str, argv: list[str]) -> int:
    """Run one subcommand's `main(argv)` with the conventions every command shares.

    Input errors (`SpecError`, `InputError`) are printed as problems and exit with their code; a closed output
    pipe ends quietly with EXIT_PIPE_CLOSED; anything else is an internal error (traceback, EXIT_INTERNAL).
    """
    from mlinfra.problems import SpecError

    try:
        module = importlib.import_module(COMMANDS[command][0])
        code = module.main(argv)
        sys.stdout.flush()
        return int(code or 0)
    except SystemExit as exc:  # argparse: --help (0) and bad options (2)
        return exc.code if isinstance(exc.code, int) else (EXIT_USAGE if exc.code else EXIT_OK)
    except SpecError as err:
        print(f"mlinfra {command}: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as err:
        # A path the command was given (or writes to) that cannot be used: the user's to fix, not a bug.
        print(f"mlinfra {command}: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"mlinfra {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print(f"mlinfra {command}: internal error (exit {EXIT_INTERNAL}): the traceback above is a bug in mlinfra or "
              "an unexpected failure of the stack program, not a problem found in the input", file=sys.stderr)
        return EXIT_INTERNAL


def version() -> str:
    """`mlinfra-pulumi <version>`: the distribution name (what `pip install` takes) and its version."""
    from mlinfra import __version__

    return f"mlinfra-pulumi {__version__}"


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand's `main(argv)`; see USAGE for the exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        print(version())
        return 0
    if not args or args[0] in ("-h", "--help", "help"):
        try:
            print(USAGE, end="")
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_PIPE_CLOSED
        return EXIT_OK if args else EXIT_USAGE
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"mlinfra: unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    return run_command(command, rest)


if __name__ == "__main__":
    sys.exit(main())
