"""Reading scenario files: YAML with line numbers, ``--set`` overrides, errors
that name the file, the line, the key path, the rule and a fix.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .._settings import fields_of, is_scalar, is_union_tag
from ..errors import InputError
from .model import Scenario


class ScenarioError(InputError):
    """A scenario that cannot be used; ``problems`` lists every problem found,
    each ``(where, key_path, message)``."""

    def __init__(self, message: str, problems: list[tuple[str, str, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []


# -- YAML with line numbers -----------------------------------------------

def _walk(node, path: tuple, lines: dict, source: str, problems: list) -> None:
    """Record the line of every key path under ``node`` and find duplicate keys."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append((f"{source}, line {key_node.start_mark.line + 1}",
                                 _dotted(path + (key,)),
                                 f"duplicate key '{key}' (first on line {seen[key]}); "
                                 "keep one of them"))
            seen[key] = key_node.start_mark.line + 1
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines, source, problems)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, source, problems)


#: Most values a scenario may hold once its aliases (``*name``) are expanded;
#: a file beyond it (and beyond :data:`ALIAS_GROWTH` times its own size) is refused.
MAX_EXPANDED_VALUES = 2_000_000

#: How many times its own number of values aliases may grow a file beyond
#: :data:`MAX_EXPANDED_VALUES`.
ALIAS_GROWTH = 10

#: An empty scenario file's error says what a minimal one looks like.
MINIMAL_SCENARIO = ("a minimal scenario names the study and changes what differs from the "
                    "default, e.g.\n    name: my_study\n    duration_s: 3600\n  (`satsim "
                    "schema` lists every key; `satsim run` with no file runs the default)")


def _loader_class():
    """A safe loader (libyaml's when available) that keeps a date which does not
    exist (2025-02-30) as its text, so the schema reports it at its line and key
    (or a ``--set`` replaces it) instead of the YAML reader failing on it."""
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):
        pass

    def timestamp(loader, node):
        try:
            return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)

    Loader.add_constructor("tag:yaml.org,2002:timestamp", timestamp)
    return Loader


_Loader = _loader_class()


def _expanded_size(root) -> tuple[int, int, Any]:
    """(values after alias expansion, distinct values, the most repeated
    collection node): counted on the node tree, where an alias is the same
    node object met again, so nothing is expanded to count it."""
    size: dict[int, int] = {}
    seen_twice: dict[int, Any] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = (node.value if isinstance(node, yaml.SequenceNode)
                        else [n for kv in node.value for n in kv])
            size[key] = 1 + sum(size[id(c)] for c in children)
            continue
        if key in size:
            if not isinstance(node, yaml.ScalarNode):
                seen_twice.setdefault(key, node)
            continue
        if isinstance(node, yaml.ScalarNode):
            size[key] = 1
            continue
        size[key] = 0  # visiting; filled when done
        stack.append((node, True))
        children = (node.value if isinstance(node, yaml.SequenceNode)
                    else [n for kv in node.value for n in kv])
        stack.extend((c, False) for c in reversed(children))
    worst = max(seen_twice.values(), key=lambda n: size[id(n)], default=None)
    return size[id(root)], len(size), worst


def parse_yaml(text: str, source: str) -> tuple[Any, Any]:
    """``(data, node)`` of a YAML text, parsed once (libyaml when available).

    Raises ScenarioError for invalid YAML, impossible dates and alias bombs,
    naming ``source`` and the line."""
    loader = _Loader(text)
    node = None
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            expanded, distinct, worst = _expanded_size(node)
            if expanded > MAX_EXPANDED_VALUES and expanded > ALIAS_GROWTH * distinct:
                line = worst.start_mark.line + 1 if worst is not None else 1
                raise ScenarioError(
                    f"{source}, line {line}: the aliases (*name) of this anchor (&name) expand "
                    f"the file from {distinct:,} to {expanded:,} values (more than "
                    f"{MAX_EXPANDED_VALUES:,}); refused to protect the machine's memory.\n"
                    "  How to fix: write the values out, or alias only small sections")
            return loader.construct_document(node), node
        finally:
            loader.dispose()
    except RecursionError:
        raise ScenarioError(f"{source}: nested too deeply to be a scenario; check the "
                            "indentation") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}: not valid YAML: {problem}\n  How to fix: check the "
                            "indentation and the ':' after each key; quote strings that "
                            "contain ':' or '#'") from None


def read_yaml(path: str | os.PathLike) -> tuple[dict, dict]:
    """The mapping in a scenario file and the line of each key path in it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file; check the path (run "
                            "`satsim run` with no argument for the embedded default)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc}") from None
    data, node = parse_yaml(text, str(path))
    if data is None:
        raise ScenarioError(f"{path}: the scenario file is empty; {MINIMAL_SCENARIO}")
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario file must be a mapping of keys (name: ..., "
                            f"duration_s: ...), found a {type(data).__name__}")
    lines: dict = {}
    problems: list = []
    _walk(node, (), lines, str(path), problems)
    if problems:
        raise ScenarioError(_format(problems), problems)
    return data, lines


# -- overrides ------------------------------------------------------------

def parse_override(text: str) -> tuple[tuple, Any]:
    """``"key.path=value"`` -> (("key", "path"), value); the value is read as YAML
    (``3``, ``1e-3``, ``true``, ``null``, ``[1, 2]``, ``"[DTC]"``)."""
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. "
                            "--set duration_s=3600 or --set link.min_elevation_deg=30")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"--set {text!r}: the key path {key!r} is empty or has an empty "
                            "part; write it like services.sms.mo_per_hour")
    try:
        value = parse_yaml(raw, f"--set {key}")[0] if raw.strip() else ""
    except ScenarioError as exc:
        if "not valid YAML" not in str(exc):
            raise
        value = raw
    return key_path(key), value


def key_path(key) -> tuple:
    """``"a.0.b"`` -> ``("a", 0, "b")`` (digits are list indices); tuples pass through."""
    if isinstance(key, str):
        return tuple(int(p) if p.isdigit() else p for p in key.split("."))
    return tuple(key)


def override_items(overrides: Mapping[str, Any] | Iterable[str]) -> list[tuple[tuple, Any]]:
    """``{"a.b": 1}`` or ``["a.b=1"]`` -> ``[(("a", "b"), 1)]``."""
    if isinstance(overrides, Mapping):
        return [(key_path(k), v) for k, v in overrides.items()]
    return [parse_override(s) for s in overrides]


def _default_at(path: tuple):
    node: Any = Scenario().model_dump(mode="json")
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return copy.deepcopy(node)


def apply_overrides(data: dict, overrides: Mapping[str, Any] | Iterable[str]) -> dict:
    """A copy of ``data`` with each override set (``{"a.b": 1}`` or ``["a.b=1"]``).

    A section the data leaves out starts from its default, so
    ``constellation.walker.0.altitude_km=550`` changes one default shell."""
    out = copy.deepcopy(data)
    items = override_items(overrides)
    if "constellation" not in out and any(p[:2] == ("constellation", "file") for p, _ in items):
        # a file replaces the default's generated shells, not joins them
        out["constellation"] = {"walker": None}
    for path, value in items:
        node = out
        for i, part in enumerate(path[:-1]):
            nxt = path[i + 1]
            if isinstance(node, list):
                if not isinstance(part, int) or part >= len(node):
                    raise ScenarioError(f"--set {_dotted(path)}: {_dotted(path[:i])} has "
                                        f"{len(node)} entries; index {part} does not exist")
                node = node[part]
                continue
            child = node.get(part)
            if child is None:
                child = _default_at(path[:i + 1])
                if child is None:
                    child = [] if isinstance(nxt, int) else {}
                node[part] = child
            elif not isinstance(child, (dict, list)):
                raise ScenarioError(f"--set {_dotted(path)}: {_dotted(path[:i + 1])} is a "
                                    f"value ({child!r}), not a section")
            node = child
        last = path[-1]
        if isinstance(node, list):
            if not isinstance(last, int) or last >= len(node):
                raise ScenarioError(f"--set {_dotted(path)}: index {last} does not exist")
        node[last] = value
    return out


# -- validation errors -> messages ----------------------------------------

def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _fields(cls) -> dict:
    """Field infos of a scenario section: a pydantic model or a settings dataclass."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return dict(cls.model_fields)
    return fields_of(cls)


def _model_at(loc: tuple):
    """The section class (pydantic model or settings dataclass) that holds the
    last key of ``loc``."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = _fields(model).get(part)
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if _fields(model) else None


def _inner_model(annotation):
    """The section class inside ``X``, ``X | None`` or ``list[X]``, if any."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if inner is not None:
                return inner
        return None
    return annotation if isinstance(annotation, type) and _fields(annotation) else None


def _line(lines: Mapping, loc: tuple) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _merged(problems: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """One problem per key: a value refused by every member of a union (``true``,
    ``false`` or a number of dB) gets one message listing each rule, not one each."""
    out: dict[tuple[str, str], str] = {}
    for where, key, msg in problems:
        if (where, key) in out:
            first, _, rest = out[(where, key)].partition("\n")
            extra = msg.partition("\n")[0]
            out[(where, key)] = f"{first}; or {extra}" + (f"\n{rest}" if rest else "")
        else:
            out[(where, key)] = msg
    return [(where, key, msg) for (where, key), msg in out.items()]


#: Keys renamed since an earlier release: old name -> new name (same section).
RENAMED_KEYS = {"mo_retry_s": "tr1m_s"}


def _problem(err: dict, lines: Mapping, source: str, overridden: set) -> tuple[str, str, str]:
    # pydantic adds the union member it tried ("int", "float", ...) to the
    # location of union-typed fields; keep only real key names
    loc = tuple(p for p in err["loc"] if isinstance(p, int) or not is_union_tag(p))
    key = _dotted(loc)
    kind = err["type"]
    override = next((o for o in overridden if loc[:len(o)] == o), None)
    if override is not None:
        where = f"--set {_dotted(override)}"
    else:
        line = _line(lines, loc)
        where = f"{source}, line {line}" if line else source
    model = _model_at(loc) if loc else Scenario
    fields = _fields(model) if model is not None else {}
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        valid = sorted(fields)
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`? " if close else ""
        if RENAMED_KEYS.get(str(loc[-1])) in fields:
            hint = f"it was renamed `{RENAMED_KEYS[str(loc[-1])]}`; "
        msg = (f"unknown key '{loc[-1]}': {hint}valid keys here: {', '.join(valid)}")
        return where, key, msg
    msg = err["msg"].removeprefix("Value error, ")
    if kind not in ("missing", "value_error") and is_scalar(err.get("input")):
        msg += f" (got {err['input']!r})"
    if loc and isinstance(loc[-1], str) and loc[-1] in fields:
        desc = fields[loc[-1]].description
        if desc:
            msg += f"\n      {loc[-1]}: {desc}"
    return where, key, msg


def _where(loc: tuple, lines: Mapping, source: str, overridden: Iterable[tuple]) -> str:
    override = next((o for o in overridden if loc[:len(o)] == o), None)
    if override is not None:
        return f"--set {_dotted(override)}"
    line = _line(lines, loc)
    return f"{source}, line {line}" if line else source


def step_problem(duration_s: float, step_s: float) -> str | None:
    """Why ``step_s`` does not fit ``duration_s`` (it must divide it, so the run
    covers the whole duration), with the nearest values that do; or None."""
    n = duration_s / step_s
    if abs(n - round(n)) <= 1e-9 * max(n, 1.0):
        return None
    lo, hi = math.floor(n), math.ceil(n)
    steps = sorted({duration_s / k for k in (lo, hi) if k >= 1})
    durations = sorted({k * step_s for k in (lo, hi) if k >= 1})
    return (f"step_s ({step_s:g}) must divide duration_s ({duration_s:g}) so the run covers "
            f"the whole duration (it would end at {lo * step_s:g} s); nearest valid: step_s "
            f"{' or '.join(f'{v:g}' for v in steps)}, or duration_s "
            f"{' or '.join(f'{v:g}' for v in durations)}")


def located(exc: ScenarioError, source: str | os.PathLike | None,
            overrides: Mapping[str, Any] | Iterable[str] = ()) -> ScenarioError:
    """``exc`` (raised while building a run, its problems at "scenario") with
    each problem placed at the file and line of its key, or at its ``--set``."""
    if not exc.problems or all(where != "scenario" for where, _, _ in exc.problems):
        return exc
    lines: Mapping = {}
    name = "<default scenario>"
    if source is not None and not isinstance(source, Mapping):
        name = str(source)
        try:
            lines = read_yaml(source)[1]
        except InputError:
            lines = {}
    overridden = set(dict(override_items(overrides)))
    problems = [(_where(key_path(key), lines, name, overridden) if where == "scenario"
                 else where, key, msg) for where, key, msg in exc.problems]
    return ScenarioError(_format(problems), problems)


def _format(problems: list[tuple[str, str, str]]) -> str:
    head = f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the scenario:"
    body = "\n".join(f"  {where}: {key}: {msg}" for where, key, msg in problems)
    return f"{head}\n{body}\n  How to fix: correct the keys above; `satsim schema` lists " \
           "every key with its unit and meaning."


def validate(data: dict, *, source: str = "<scenario>", lines: Mapping | None = None,
             overridden: Iterable[tuple] = (), base_dir: Path | None = None) -> Scenario:
    """Validate a mapping into a :class:`Scenario` (paths resolved against ``base_dir``)."""
    lines = lines or {}
    problems = []
    section = data.get("constellation")
    f = section.get("file") if isinstance(section, dict) else None
    expanded = None
    if isinstance(f, (str, os.PathLike)):
        expanded = Path(os.path.expanduser(os.path.expandvars(str(f))))
        if not expanded.is_absolute() and base_dir is not None:
            expanded = base_dir / expanded
        if not expanded.is_file():
            loc = ("constellation", "file")
            override = next((o for o in overridden if loc[:len(o)] == o), None)
            line = _line(lines, loc)
            where = (f"--set {_dotted(override)}" if override is not None
                     else f"{source}, line {line}" if line else source)
            problems.append((where, "constellation.file",
                             f"the constellation file {str(f)!r} does not exist (looked for "
                             f"{expanded}); paths are relative to the scenario file; fix the "
                             "path or override it with --set constellation.file=PATH"))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems += _merged([_problem(e, lines, source, set(overridden))
                             for e in exc.errors()])
    else:
        msg = step_problem(scenario.duration_s, scenario.step_s)
        if msg is not None:
            problems.append((_where(("step_s",), lines, source, overridden), "step_s", msg))
    if problems:
        raise ScenarioError(_format(problems), problems) from None
    if expanded is not None:
        scenario.constellation.file = expanded.resolve()
    return scenario


def load_scenario(source: str | os.PathLike | Mapping | None = None, *,
                  overrides: Mapping[str, Any] | Iterable[str] = ()) -> Scenario:
    """Load and validate a scenario.

    Parameters
    ----------
    source : path, mapping or None
        A YAML file, a mapping with the same structure, or None for the
        embedded default scenario.
    overrides : mapping or list of str
        ``{"link.min_elevation_deg": 30}`` or ``["link.min_elevation_deg=30"]``,
        applied before validation (the CLI's ``--set``).

    Raises
    ------
    ScenarioError
        Naming the file, the line and the key path, the rule and a fix, for
        every problem at once.
    """
    if source is None:
        data, lines, name, base = {}, {}, "<default scenario>", None
    elif isinstance(source, Mapping):
        data, lines, name, base = dict(source), {}, "<scenario mapping>", Path.cwd()
    else:
        path = Path(source)
        data, lines = read_yaml(path)
        name, base = str(path), path.resolve().parent
    items = dict(override_items(overrides))
    if items:  # (a large file is not copied for nothing)
        data = apply_overrides(data, items)
    return validate(data, source=name, lines=lines, overridden=set(items), base_dir=base)


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (every default filled in), loadable again."""
    data = scenario.model_dump(mode="json")
    head = (f"# satsim scenario '{scenario.name}', resolved: every default filled in.\n"
            "# Load it with `satsim run THIS_FILE` or satsim.load_scenario(path).\n")
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any] | Iterable[str]) -> Scenario:
    """A validated copy of ``scenario`` with ``overrides`` applied."""
    items = dict(override_items(overrides))
    return validate(apply_overrides(scenario.model_dump(mode="json"), items),
                    source="<scenario>", overridden=set(items), base_dir=Path.cwd())
