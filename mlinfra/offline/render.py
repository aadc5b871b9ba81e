"""`mlinfra render`: run a stack program under Pulumi's mock runtime and write what it would create.

Output (DESIGN.md): `resources.json`, `outputs.json` (the stack's exports, secrets masked: what a team stack's
`StackReference` reads, see `--platform-render`), `manifests/<cluster>/<namespace|_cluster>/<Kind>-<name>.yaml`,
`helm/<cluster>/<release>.yaml` and `summary.md`. Rendering twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import runpy
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlinfra.offline.render_text import dump_json, dump_yaml

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "[secret]"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release",)


def project_root(start: Path | None = None) -> Path:
    """The Pulumi project to render.

    With `start` (the `--project` option): that folder, which must exist and hold `Pulumi.yaml`. Without it: the
    nearest folder at or above the current directory that holds `Pulumi.yaml`. Raises `InputError` (usage)
    otherwise; never falls back to another project.
    """
    from mlinfra.problems import InputError, Problem

    if start is not None:
        folder = start.expanduser()
        if not folder.is_dir():
            raise InputError([Problem("--project", str(start), "no such folder; pass the folder that holds the "
                                                                "project's Pulumi.yaml")],
                             "the command line", usage=True)
        if not (folder / "Pulumi.yaml").is_file():
            raise InputError([Problem("--project", str(start), "not a Pulumi project: the folder has no "
                                                                "Pulumi.yaml")], "the command line", usage=True)
        return folder.resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise InputError([Problem("--project", str(here), "not inside a Pulumi project: no Pulumi.yaml here or in a "
                                                      "parent folder; run from the project or pass --project DIR")],
                     "the command line", usage=True)


def _load_yaml(path: Path, what: str) -> Any:
    """Parse one YAML file; a syntax error becomes an `InputError` naming the file, line and column."""
    from mlinfra.problems import InputError, Problem

    text = path.read_text()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        line = text.splitlines()[mark.line] if mark is not None and mark.line < len(text.splitlines()) else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError([Problem(where, line.strip(), f"{what} that is not valid YAML: {reason}; fix the "
                                                       "syntax at this line and column")], str(path)) from None


def clean(value: Any) -> Any:
    """Make recorded inputs plain and stable: secrets masked, unknowns marked, integral floats as ints."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            # A secret map (a Secret's stringData) keeps its keys so the object stays schema-valid;
            # only the values are hidden.
            inner = value.get("value")
            if isinstance(inner, dict):
                return {str(k): "[secret]" for k in sorted(inner)}
            return "[secret]"
        if SECRET_SIG in value:
            # A resource reference: keep only its URN, which is stable.
            return value.get("urn", "[resource]")
        return {str(k): clean(v) for k, v in sorted(value.items()) if not str(k).startswith("__")}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN:
        return "[unknown]"
    return value


@dataclass
class StackConfig:
    """A stack's config as the program sees it: project, stack, values (as strings) and secret keys."""

    project: str
    stack: str
    values: dict[str, str]
    secret_keys: list[str]

    def platform(self) -> Any:
        """The structured `mlinfra:platform` value, parsed."""
        raw = self.values.get("mlinfra:platform")
        return json.loads(raw) if raw is not None else None


def _project_file(root: Path) -> dict[str, Any]:
    from mlinfra.problems import InputError, Problem

    path = root / "Pulumi.yaml"
    data = _load_yaml(path, "a Pulumi project file")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise InputError([Problem(f"{path}:name", data.get("name") if isinstance(data, dict) else data,
                                  "a Pulumi project file needs `name` (a string)")], str(path))
    return data


def read_stack_config(stack: str, stacks_dir: Path | None = None, project_dir: Path | None = None) -> StackConfig:
    """Read `Pulumi.<stack>.yaml`. `secure:` values cannot be decrypted offline: they become placeholders
    that the program still receives as secrets.

    Raises `InputError` for a stack that does not exist (usage) or a file that is not a YAML mapping with a
    `config:` mapping.
    """
    from mlinfra.problems import InputError, Problem

    root = project_dir or project_root()
    project_file = _project_file(root)
    config_dir = stacks_dir or root / project_file.get("stackConfigDir", ".")
    path = config_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in config_dir.glob("Pulumi.*.yaml"))
        raise InputError([Problem("--stack", stack, f"no stack config {path}; stacks here: "
                                                    f"{', '.join(known) or 'none'}")], "the command line", usage=True)
    project = project_file["name"]
    doc = _load_yaml(path, "a stack config file") or {}
    raw = doc.get("config", {}) if isinstance(doc, dict) else doc
    if not isinstance(raw, dict):
        raise InputError([Problem(f"{path}:config", raw, "must be a mapping of config keys to values")], str(path))
    values: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full] = f"offline-placeholder-for-{full}"
            secrets.append(full)
        elif isinstance(value, (dict, list)):
            values[full] = json.dumps(value)
        else:
            values[full] = str(value).lower() if isinstance(value, bool) else str(value)
    return StackConfig(project, stack, values, secrets)


def program_path(root: Path) -> Path:
    """The program file of a Pulumi project: `main` from Pulumi.yaml (a folder means its `__main__.py`)."""
    main = _project_file(root).get("main", ".")
    path = root / main
    return path / "__main__.py" if path.is_dir() else path


def run_program(
    program: Path | Callable[[], object],
    config: StackConfig,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> list[Any]:
    """Run a Pulumi program (a file, or a callable) under the mock runtime; return its registrations.

    `stack_outputs` answers the program's `StackReference`s (see `RecordingMocks`).
    """
    return run_program_with_outputs(program, config, stack_outputs)[0]


class StackOutputError(Exception):
    """A `StackReference` the render could not answer: no render of that stack, or an output it lacks."""


def referenced_stack_outputs(renders: list[Path]) -> dict[str, dict[str, Any]]:
    """The outputs of rendered stacks, keyed `project/stack`, from each render directory's `outputs.json`."""
    found: dict[str, dict[str, Any]] = {}
    for folder in renders:
        path = Path(folder) / "outputs.json"
        if not path.is_file():
            raise StackOutputError(f"{folder} has no outputs.json: render the referenced stack first "
                                   f"(`mlinfra render --stack NAME --out {folder}`)")
        doc = json.loads(path.read_text())
        found[f"{doc['project']}/{doc['stack']}"] = doc
    return found


def _reference_problem(mocks: Any, err: BaseException | None) -> str | None:
    """Why a run's stack references failed: a stack nobody rendered, or a key its outputs lack."""
    if mocks.unanswered:
        return (f"no outputs for stack reference {', '.join(sorted(set(mocks.unanswered)))}: pass "
                "--platform-render DIR with a render of that stack (its outputs.json)")
    if isinstance(err, KeyError) and mocks.referenced:
        key = err.args[0] if err.args else "?"
        where = "; ".join(f"stack {ref} exports {', '.join(sorted(outs)) or 'nothing'}"
                          for ref, outs in sorted(mocks.referenced.items()))
        return f"stack output {key!r} not found: {where}"
    return None


def run_program_with_outputs(
    program: Path | Callable[[], object],
    config: StackConfig,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """`run_program`, also returning what the program exported (`pulumi.export`; secrets still wrapped)."""
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime import stack as runtime_stack
    from pulumi.runtime.sync_await import _sync_await

    from mlinfra.offline.mocks import RecordingMocks, RecordingMonitor

    settings.reset_options()
    pulumi.runtime.set_all_config(config.values, config.secret_keys)
    mocks = RecordingMocks(stack_outputs)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=config.project, stack=config.stack, preview=False, monitor=monitor)
    settings.SETTINGS.rpc_manager.clear()
    # No cyclic garbage collection while the program runs. Pulumi's resources, outputs and futures form cycles
    # that stay alive until the run ends, so every full collection walks all of them again (and the few hundred
    # thousand objects the SDKs leave at import): time per resource grew with the stack's size. A render is a
    # short batch: one collection at the end frees what became garbage. Costs ~6 MiB of peak RSS at 1000 resources.
    # That collection skips the heap from before the run (frozen), which is not the program's garbage. A caller
    # that runs with the collector off (the `mlinfra render` command) gets no collection at all.
    collecting = gc.isenabled()
    gc.disable()
    gc.freeze()
    old_path = list(sys.path)
    exported: dict[str, Any] = {}

    async def body() -> None:
        if callable(program):
            program()
        else:
            sys.path.insert(0, str(program.parent))
            runpy.run_path(str(program), run_name="__main__")
        # `pulumi.export` puts outputs on the root stack; under mocks nothing registers them, so read them here.
        root = settings.get_root_resource()
        for name, value in sorted((getattr(root, "outputs", None) or {}).items()):
            exported[name] = await _resolve_export(value)

    try:
        try:
            _sync_await(runtime_stack.run_pulumi_func(body))
        except Exception as err:
            problem = _reference_problem(mocks, err)
            if problem is not None:
                raise StackOutputError(problem) from err
            raise
        problem = _reference_problem(mocks, None)
        if problem is not None:
            raise StackOutputError(problem)
    finally:
        sys.path[:] = old_path
        if collecting:
            gc.enable()
            gc.collect()  # walks only the program's objects: the heap from before the run is frozen
        gc.unfreeze()
    return monitor.registrations, exported


async def _resolve_export(value: Any) -> Any:
    """Resolve an exported value, replacing each secret part by `SECRET_MARK` (nested dicts and lists walked)."""
    import pulumi

    if isinstance(value, pulumi.Output):
        if await value.is_secret():
            return SECRET_MARK
        value = await value.future(with_unknowns=True)
    if isinstance(value, dict):
        return {str(k): await _resolve_export(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [await _resolve_export(v) for v in value]
    if hasattr(value, "__await__"):
        return await _resolve_export(await value)
    return value


def stack_outputs_json(project: str, stack: str, exported: dict[str, Any]) -> str:
    """`outputs.json`: what a stack exports, as a team stack's `StackReference` would read it offline.

    `{"project", "stack", "outputs": {...}, "secret_output_names": [...]}`; every secret value is `"[secret]"`
    and every top-level output holding one is listed as secret, as the Pulumi service marks it.
    """
    def has_secret(value: Any) -> bool:
        if value == SECRET_MARK:
            return True
        if isinstance(value, dict):
            return any(has_secret(v) for v in value.values())
        if isinstance(value, list):
            return any(has_secret(v) for v in value)
        return False

    outputs = {k: clean(v) for k, v in sorted(exported.items())}
    doc = {
        "project": project,
        "stack": stack,
        "outputs": outputs,
        "secret_output_names": sorted(k for k, v in outputs.items() if has_secret(v)),
    }
    return dump_json(doc) + "\n"


def _provider_names(registrations: list[Any]) -> dict[str, str]:
    names = {}
    for r in registrations:
        if r.type.startswith("pulumi:providers:"):
            names[f"{r.urn}::{r.name}-id"] = r.name
    return names


def _cluster_of(provider_name: str | None) -> str:
    if not provider_name:
        return "_default"
    return provider_name[: -len("-k8s")] if provider_name.endswith("-k8s") else provider_name


def resource_refs(registrations: list[Any]) -> dict[str, str]:
    """How `resources.json` names each registration (URN -> reference): its name, which is unique in a
    platform stack; where two resources share a name (Pulumi allows it across types), `<type>::<name>`."""
    from collections import Counter

    counts = Counter(r.name for r in registrations)
    return {r.urn: r.name if counts[r.name] == 1 else f"{r.type}::{r.name}" for r in registrations}


def _dependency_fields(r: Any, refs: dict[str, str]) -> dict[str, Any]:
    """`dependencies` (everything the engine waits for before creating the resource: `depends_on` and the
    resources whose Outputs its inputs use) and `propertyDependencies` (per input, the resources it came
    from), as sorted references. The provider is a dependency too; it is the record's `provider`."""

    def names(urns: list[str]) -> list[str]:
        return sorted({refs.get(u, u) for u in urns})

    return {
        "dependencies": names(getattr(r, "dependencies", [])),
        "propertyDependencies": {k: names(v) for k, v in sorted(getattr(r, "property_dependencies", {}).items())},
    }


def build_render(registrations: list[Any], check_inputs: bool = True) -> dict[str, Any]:
    """Turn registrations into the files of a render directory: {relative path: text}.

    With `check_inputs` every resource's inputs are checked against its SDK's input types first
    (`mlinfra.offline.provider_inputs`); `ProviderInputError` lists each input a provider would reject.
    """
    providers = _provider_names(registrations)
    refs = resource_refs(registrations)
    resources = []
    files: dict[str, str] = {}
    for r in registrations:
        inputs = clean(r.inputs)
        provider = providers.get(r.provider_ref)
        resources.append(
            {
                "type": r.type,
                "name": r.name,
                "parent": refs.get(r.parent_urn),
                "provider": provider,
                **_dependency_fields(r, refs),
                "inputs": inputs,
            }
        )
        if not r.type.startswith("kubernetes:") or r.type.startswith("pulumi:providers:"):
            continue
        cluster = _cluster_of(provider)
        if r.type in HELM_RELEASE_TYPES:
            release = inputs.get("name") or r.name
            doc = {
                "chart": inputs.get("chart"),
                "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
                "version": inputs.get("version"),
                "namespace": inputs.get("namespace"),
                "values": inputs.get("values") or {},
            }
            files[f"helm/{cluster}/{release}.yaml"] = dump_yaml(doc)
        elif "kind" in inputs and "apiVersion" in inputs:
            meta = inputs.get("metadata") or {}
            name = meta.get("name") or r.name
            namespace = meta.get("namespace") or "_cluster"
            files[f"manifests/{cluster}/{namespace}/{inputs['kind']}-{name}.yaml"] = dump_yaml(inputs)
    if check_inputs:
        from mlinfra.offline.provider_inputs import require_valid_inputs

        # The inputs as registered, not as resources.json shows them: a secret is masked there (`[secret]`),
        # and a provider would still reject a secret of the wrong type or with a misspelled key.
        require_valid_inputs({"type": r.type, "name": r.name, "inputs": r.inputs} for r in registrations)
    resources.sort(key=lambda x: (x["type"], x["name"], x["parent"] or ""))
    files["resources.json"] = dump_json(resources) + "\n"
    return files


# Files that make a folder a render (or a refused one) that `mlinfra render` may replace.
RENDER_MARKERS = ("resources.json", "REFUSED.md")


def is_render(path: Path) -> bool:
    """Whether `path` is a folder `mlinfra render` wrote (and may therefore replace or mark refused)."""
    return path.is_dir() and any((path / name).is_file() for name in RENDER_MARKERS)


def check_output_folder(out: Path) -> None:
    """Refuse to replace a folder that is not a render: `--out .` must never delete a project."""
    from mlinfra.problems import InputError, Problem

    if out.exists() and not (out.is_dir() and (is_render(out) or not any(out.iterdir()))):
        raise InputError([Problem("--out", str(out), "exists and is not a render (no resources.json); mlinfra "
                                                      "replaces only its own renders: choose a new or empty folder")],
                         "the command line", usage=True)


def write_tree(out: Path, files: dict[str, str]) -> None:
    """Replace `out` with exactly `files`: written to a temporary folder beside it, then swapped in with renames,
    so a reader sees the old tree or the new one, never a half-written one."""
    check_output_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.render-", dir=out.parent))
    try:
        for rel, text in sorted(files.items()):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "tree")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def mark_refused(out: Path, stack: str, reason: str) -> bool:
    """Replace an earlier render in `out` with only `REFUSED.md`, so no tool takes it for the current stack.

    Nothing is written where there was no render. Returns whether `out` was marked.
    """
    if not is_render(out):
        return False
    write_tree(out, {"REFUSED.md": f"# Render of stack `{stack}` refused\n\nThe last `mlinfra render` of this "
                                   f"stack was refused; this folder holds no render.\n\n```\n{reason}\n```\n"})
    return True


def program_refusal(exc: BaseException) -> Exception | None:
    """The input error a stack program raised, as the `SpecError` the command reports; None for anything else.

    A program refuses its input with `SpecError` (mlinfra's specs and components), `pulumi.RunError` (also
    `ConfigMissingError`, `ConfigTypeError`) or `pulumi.InputPropertyError`/`InputPropertiesError`.
    """
    import pulumi

    from mlinfra.problems import InputError, Problem, SpecError

    if isinstance(exc, SpecError):
        return exc
    if isinstance(exc, pulumi.InputPropertyError):
        return InputError([Problem(exc.property_path, None, exc.reason)], "the stack program's input")
    if isinstance(exc, pulumi.InputPropertiesError):
        problems = [Problem(e["property_path"], None, e["reason"]) for e in exc.errors or []]
        return InputError(problems or [Problem("<program>", None, exc.message)], "the stack program's input")
    if isinstance(exc, pulumi.RunError):
        return InputError([Problem("<program>", None, str(exc))], "the stack program's input")
    return None


def render_stack(stack: str, out: Path | None = None, project_dir: Path | None = None,
                 platform_renders: list[Path] | None = None) -> tuple[dict[str, str], str]:
    """Render one stack: check its spec, run the program under mocks, return (files, summary markdown).

    `platform_renders` are render directories of the stacks the program references (`StackReference`): each
    reference is answered from the `outputs.json` of the render of that project and stack.

    Raises `SpecError` (or its `InputError`) before running anything when the spec or a stack file is
    inconsistent, and when the program refuses its input (see `program_refusal`). On a refusal or any failure an
    earlier render in `out` is replaced by a `REFUSED.md` marker, so `validate`, `check` and `diff` fail on it
    instead of passing a render that no longer matches the stack. `StackOutputError` when a reference has no
    render or the program reads an output the referenced stack does not export.
    """
    from mlinfra.offline.diff import capacity_json
    from mlinfra.offline.summary import resources_markdown, summary_markdown
    from mlinfra.problems import Problem
    from mlinfra.spec import load_environment

    root = project_dir or project_root()
    if out is not None:
        check_output_folder(out)
    try:
        config = read_stack_config(stack, project_dir=root)
        # A platform stack is checked before its program runs; a project without `mlinfra:platform`
        # (a team stack) is rendered as it is.
        platform = config.platform()
        warnings: list[Problem] = []
        env = load_environment(platform, on_warning=warnings.append) if platform is not None else None
        referenced = referenced_stack_outputs(list(platform_renders or []))
        try:
            registrations, exported = run_program_with_outputs(program_path(root), config, referenced)
        except Exception as exc:
            # The program's own refusal comes first, also when unanswered references were reported with it.
            cause = exc.__cause__ if isinstance(exc, StackOutputError) else None
            refusal = program_refusal(exc) or (program_refusal(cause) if cause is not None else None)
            if refusal is None:
                raise
            raise refusal from None
        files = build_render(registrations)
        files["outputs.json"] = stack_outputs_json(config.project, config.stack, exported)
        if env is not None:
            summary = summary_markdown(env, registrations, warnings, json.loads(files["resources.json"]))
        else:
            summary = resources_markdown(config, registrations)
        files["summary.md"] = summary
        if env is not None:
            files["capacity.json"] = capacity_json(env)
    except BaseException as exc:
        if out is not None and getattr(exc, "exit_code", 1) != 2:
            mark_refused(out, stack, str(exc) or type(exc).__name__)
        raise
    if out is not None:
        write_tree(out, files)
    return files, summary


def render_environment(
    platform: Any, stack: str = "test", extra_config: dict[str, str] | None = None
) -> dict[str, str]:
    """Render an environment spec given as a dict (what `mlinfra:platform` holds) with the Platform program.

    The tests and the examples use this to render a spec without a stack file; returns the render files.
    """
    import json as _json

    from mlinfra.spec import load_environment

    env = load_environment(platform, on_warning=None)
    values = {"mlinfra:platform": _json.dumps(platform), **(extra_config or {})}
    config = StackConfig("mlinfra", stack, values, [])

    def program() -> None:
        from mlinfra.platform import Platform

        Platform("platform", env)

    from mlinfra.offline.diff import capacity_json

    files = build_render(run_program(program, config))
    files["capacity.json"] = capacity_json(env)
    return files


def main(argv: list[str] | None = None) -> int:
    """CLI entry: `mlinfra render --stack NAME [--out DIR] [--project DIR]`.

    Exit codes (`mlinfra --help`): 0 rendered; 1 refused (spec, stack file or program input: every problem is
    listed, and an earlier render in DIR is marked refused); 2 usage (unknown stack, missing project, an --out
    folder that is not a render).
    """
    from mlinfra.offline.provider_inputs import ProviderInputError
    from mlinfra.problems import SpecError

    parser = argparse.ArgumentParser(prog="mlinfra render", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml in the project's "
                                                       "stackConfigDir)")
    parser.add_argument("--out", type=Path, help="output directory (default: build/<stack> in the project)")
    parser.add_argument("--project", type=Path, help="Pulumi project folder, holding Pulumi.yaml (default: the "
                                                     "nearest one at or above the current directory)")
    parser.add_argument("--platform-render", type=Path, action="append", default=[], metavar="DIR",
                        help="render directory of a stack this one references (its outputs.json answers the "
                             "StackReference); repeatable")
    args = parser.parse_args(argv)
    # A render is a short batch process: the cyclic garbage Pulumi's runtime leaves (futures, outputs, tasks)
    # goes back with the process. Collecting it costs about a quarter of a large render (0.4 s at 1000
    # resources) and frees nothing the process still needs, so the collector stays off (`run_program` then
    # skips its final collection too). Peak memory grows by what that collection would have freed.
    gc.disable()
    # A program that fails part-way (a stack output it reads is missing) leaves Output coroutines that were never
    # awaited; Python's warnings about them say nothing to the user, the error below does.
    import warnings

    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    out = args.out
    try:
        root = project_root(args.project)
        out = args.out or root / "build" / args.stack
        files, summary = render_stack(args.stack, out, project_dir=root, platform_renders=args.platform_render)
    except StackOutputError as err:
        print(f"mlinfra render: stack {args.stack}: {err}", file=sys.stderr)
        if out is not None and (out / "REFUSED.md").is_file():
            print(f"mlinfra render: marked the earlier render in {out} as refused (REFUSED.md)", file=sys.stderr)
        return 1
    except (SpecError, ProviderInputError) as err:
        print(f"mlinfra render: stack {args.stack}: {err}", file=sys.stderr)
        if out is not None and (out / "REFUSED.md").is_file():
            print(f"mlinfra render: marked the earlier render in {out} as refused (REFUSED.md)", file=sys.stderr)
        return err.exit_code
    print(summary, end="")
    print(f"\nwrote {len(files)} files to {out}")
    return 0
