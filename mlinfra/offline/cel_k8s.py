"""CEL for `x-kubernetes-validations`: cel-expr-python plus the Kubernetes library functions the pinned CRDs use.

Functions and macros used by the rules of every CRD in ../shared/upstream (180 rules, 31 of them transition
rules on `oldSelf`), and where each comes from here:

| function / macro                         | rules | provided by                                      |
|------------------------------------------|------:|--------------------------------------------------|
| has()                                    |   235 | CEL standard                                     |
| all(), exists(), filter() macros         |   117 | CEL standard (exists_one() too)                  |
| size()                                   |    51 | CEL standard                                     |
| string.find(regex)                       |    14 | Kubernetes regex library: implemented here       |
| startsWith(), endsWith(), matches()      |    12 | CEL standard (RE2; Python re is used for find)   |
| string.split()                           |     3 | cel-expr-python ExtStrings                       |
| int()                                    |     3 | CEL standard                                     |
| `in`, ternary, list/map index            |     - | CEL standard                                     |

Also available, though no pinned rule uses them: string.findAll() and list.isSorted()/sum()/min()/max()
(implemented here), ExtStrings (lowerAscii, upperAscii, indexOf, lastIndexOf, join, replace, substring, trim,
format, quote, reverse), ExtMath (math.greatest/least...), ExtEncoders (base64), optionals (`?.`, orValue),
duration()/timestamp() literals. Not implemented, so a rule using them is reported as not checked: quantity()
/isQuantity() and Quantity methods, url()/isURL(), ip()/cidr(), semver(), format.named(), sets.*, list
indexOf()/lastIndexOf() (the name clashes with ExtStrings' string indexOf in cel-expr-python), and comparing a
`format: date-time`/`duration` field as a timestamp/duration (cel-expr-python cannot carry those inside a map, so
such fields stay strings and the comparison fails as an evaluation error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_UNDECLARED = re.compile(r"undeclared reference to '([^']+)'")
_NO_OVERLOAD = re.compile(r"found no matching overload for '([^']+)'")
_OLD_SELF = re.compile(r"\boldSelf\b")


def is_transition_rule(rule: str) -> bool:
    """A rule that reads `oldSelf` only runs on update; on create the API server skips it."""
    return bool(_OLD_SELF.search(rule))


def _re2_to_python(pattern: str) -> str:
    # RE2 and Python agree on the syntax these CRDs use; RE2's \z is Python's \Z.
    return pattern.replace(r"\z", r"\Z")


def _find(value: str, pattern: str) -> str:
    match = re.search(_re2_to_python(pattern), value)
    return match.group(0) if match else ""


def _find_all(value: str, pattern: str) -> list[str]:
    return [m.group(0) for m in re.finditer(_re2_to_python(pattern), value)]


def _find_all_n(value: str, pattern: str, limit: int) -> list[str]:
    found = _find_all(value, pattern)
    return found if limit < 0 else found[:limit]


def _is_sorted(items: list[Any]) -> bool:
    return all(items[i] <= items[i + 1] for i in range(len(items) - 1))


def _sum(items: list[Any]) -> Any:
    return sum(items) if items else 0


def _min(items: list[Any]) -> Any:
    if not items:
        raise ValueError("min() called on an empty list")
    return min(items)


def _max(items: list[Any]) -> Any:
    if not items:
        raise ValueError("max() called on an empty list")
    return max(items)


@lru_cache(maxsize=1)
def _env() -> Any:
    """One CEL environment per process: `self` is dynamic, its shape comes from the CRD schema at run time."""
    from cel_expr_python import cel
    from cel_expr_python.ext import ext_encoders, ext_math, ext_optional, ext_strings

    t = cel.Type

    def member(name: str, overload: str, ret: Any, params: list[Any], impl: Any) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(overload, ret, params, is_member=True, impl=impl)])

    functions = [
        cel.FunctionDecl("find", [cel.Overload("string_find_string", t.STRING, [t.STRING, t.STRING],
                                               is_member=True, impl=_find)]),
        cel.FunctionDecl("findAll", [
            cel.Overload("string_find_all_string", t.List(t.STRING), [t.STRING, t.STRING], is_member=True,
                         impl=_find_all),
            cel.Overload("string_find_all_string_int", t.List(t.STRING), [t.STRING, t.STRING, t.INT],
                         is_member=True, impl=_find_all_n),
        ]),
        member("isSorted", "list_is_sorted", t.BOOL, [t.List(t.DYN)], _is_sorted),
        member("sum", "list_sum", t.DYN, [t.List(t.DYN)], _sum),
        member("min", "list_min", t.DYN, [t.List(t.DYN)], _min),
        member("max", "list_max", t.DYN, [t.List(t.DYN)], _max),
    ]
    return cel.NewEnv(
        variables={"self": t.DYN},
        extensions=[ext_strings.ExtStrings(), ext_math.ExtMath(), ext_encoders.ExtEncoders(),
                    ext_optional.ExtOptional()],
        functions=functions,
    )


@dataclass(frozen=True)
class Compiled:
    """A compiled expression, or why it could not be compiled."""

    program: Any | None
    reason: str | None


@lru_cache(maxsize=4096)
def compile_rule(text: str) -> Compiled:
    """Compile once per distinct rule text (the same rule text recurs across CRD versions and objects)."""
    try:
        return Compiled(_env().compile(text), None)
    except RuntimeError as exc:
        message = str(exc)
        missing = _UNDECLARED.search(message)
        if missing:
            return Compiled(None, f"CEL function or identifier {missing.group(1)!r} is not available offline "
                                  "(Kubernetes CEL library not implemented)")
        overload = _NO_OVERLOAD.search(message)
        if overload:
            return Compiled(None, f"no offline overload for CEL function {overload.group(1)!r}")
        return Compiled(None, "CEL compile error: " + " ".join(message.split())[:300])


@dataclass(frozen=True)
class Outcome:
    """`passed` True/False when evaluated; None with `reason` when the rule could not be evaluated."""

    passed: bool | None
    reason: str | None = None
    message: str | None = None  # the evaluated messageExpression, when it gave a string


def evaluate(rule: dict[str, Any], self_value: Any) -> Outcome:
    """Evaluate one `x-kubernetes-validations` entry with `self` bound to `self_value` (already CEL-typed)."""
    compiled = compile_rule(rule["rule"])
    if compiled.program is None:
        return Outcome(None, compiled.reason)
    result = compiled.program.eval(data={"self": self_value})
    type_name = result.type().name()
    if type_name == "ERROR" or type_name == "error":
        return Outcome(None, "CEL evaluation error: " + str(result.value())[:300])
    value = result.value()
    if not isinstance(value, bool):
        return Outcome(None, f"rule returned {type_name} {value!r}, not a bool")
    if value:
        return Outcome(True)
    message = None
    expression = rule.get("messageExpression")
    if expression:
        message_program = compile_rule(expression)
        if message_program.program is not None:
            evaluated = message_program.program.eval(data={"self": self_value}).value()
            if isinstance(evaluated, str) and evaluated.strip():
                message = evaluated
    return Outcome(False, message=message)


# CEL identifiers Kubernetes escapes when a property name collides with them (apiextensions escaping rules).
_RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
    "import", "let", "loop", "package", "namespace", "return", "var", "void", "while",
})
_CEL_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def escape_property(name: str) -> str:
    """A property name as CEL sees it on an object with declared properties (`x-y` -> `x__dash__y`)."""
    if name in _RESERVED:
        return f"__{name}__"
    if _CEL_IDENT.match(name) and "__" not in name:
        return name
    out = name.replace("__", "__underscores__")
    out = out.replace(".", "__dot__").replace("-", "__dash__").replace("/", "__slash__")
    return out
