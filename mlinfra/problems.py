"""Problems found in an environment spec, and the one error that carries them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (field path), what was received, and what is allowed instead."""

    path: str
    value: Any
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{self.path}: {self.message} (got {_show(self.value)})"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if not isinstance(value, (int, float)) else str(value)


class SpecError(ValueError):
    """Raised before any resource is registered when the spec has errors; lists every one of them.

    `subject` names what was checked ("the environment spec", "stacks/Pulumi.dev.yaml"). The `mlinfra` command
    exits with `exit_code` (EXIT_REFUSED) after printing it.
    """

    exit_code = 1

    def __init__(self, problems: list[Problem], subject: str = "the environment spec"):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity == "warning"]
        self.subject = subject
        lines = [f"{subject} has {len(self.problems)} problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class InputError(SpecError):
    """Input other than the spec that cannot be used: a stack file that is not YAML, a folder that does not exist,
    a component argument outside what is allowed. Same shape as SpecError: path, value received, what is allowed.

    `usage=True` marks a command-line mistake (exit code EXIT_USAGE instead of EXIT_REFUSED).
    """

    def __init__(self, problems: list[Problem], subject: str = "the input", usage: bool = False):
        super().__init__(problems, subject)
        self.exit_code = 2 if usage else 1


def path_join(*parts: str | int) -> str:
    """Join path parts the way the problems print them: `clusters[0].pools[1].mig`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out and any(ch in part for ch in "./ "):
            out += f'["{part}"]'
        elif out:
            out += f".{part}"
        else:
            out = part
    return out
