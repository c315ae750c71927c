"""Generate ``docs/config-reference.md`` from the pydantic config models.

The reference is rendered from :class:`chroma_framework.config.ChromaConfig` (every nested
section) and from the config model of every installed first-party plugin, so it
cannot drift from the code: ``tests/test_docs.py`` renders it again and compares.

Field descriptions come from ``Field(description=...)``, else from ``#:`` comments
directly above the field, else from the ``Attributes:`` section of the model's
docstring.

Usage::

    python scripts/gen_config_reference.py            # rewrite docs/config-reference.md
    python scripts/gen_config_reference.py --check    # exit 1 when the file is out of date
    python scripts/gen_config_reference.py --undocumented   # fields lacking a description
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "config-reference.md"
REGENERATE = "python scripts/gen_config_reference.py"

_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")
_CONSTRAINTS = (
    ("gt", ">"),
    ("ge", ">="),
    ("lt", "<"),
    ("le", "<="),
    ("min_length", "min length"),
    ("max_length", "max length"),
)


# ----------------------------------------------------------------- descriptions
def _markdown(text: str) -> str:
    """RST inline markup to Markdown: ``x`` -> `x`, :class:`~a.B` -> `B`; one line."""
    text = _ROLE.sub(lambda m: f"``{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}``", text)
    text = text.replace("``", "`")
    # Outside code spans, angle brackets would read as HTML tags.
    parts = text.split("`")
    parts[::2] = [p.replace("<", "&lt;").replace(">", "&gt;") for p in parts[::2]]
    text = " ".join("`".join(parts).split())
    return text[:1].upper() + text[1:]


def _comment_docs(cls: type) -> dict[str, str]:
    """``{field: text}`` of the ``#:`` comment lines directly above each annotated field of ``cls``."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    docs: dict[str, str] = {}
    for stmt in getattr(node, "body", []):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        comment: list[str] = []
        row = stmt.lineno - 2
        while row >= 0 and lines[row].strip().startswith("#:"):
            comment.insert(0, lines[row].strip()[2:].strip())
            row -= 1
        if comment:
            docs[stmt.target.id] = " ".join(comment)
    return docs


def _docstring_parts(cls: type) -> tuple[str, dict[str, str]]:
    """The docstring of ``cls`` without its ``Attributes:`` section, and that section as ``{field: text}``."""
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    summary: list[str] = []
    attributes: dict[str, str] = {}
    current: list[str] = []
    in_attributes = False
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            in_attributes = True
            continue
        if in_attributes and line and not line.startswith(" "):
            in_attributes = False
        if not in_attributes:
            summary.append(line)
            continue
        entry = re.match(r"^ {4}([\w, ]+):\s*(.*)$", line)
        if entry:
            current = [entry.group(2)]
            for name in entry.group(1).split(","):
                attributes[name.strip()] = current  # type: ignore[assignment]
        elif line.strip() and current:
            current.append(line.strip())
    text = "\n".join(summary).strip()
    return text, {name: " ".join(parts) for name, parts in attributes.items()}


def field_descriptions(model: type[BaseModel]) -> dict[str, str]:
    """``{field: description}`` for every field of ``model`` (empty string when undocumented)."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        found.update(_docstring_parts(cls)[1])
        found.update(_comment_docs(cls))
    out = {}
    for name, info in model.model_fields.items():
        out[name] = _markdown(info.description or found.get(name, ""))
    return out


def model_summary(model: type) -> str:
    """The model's docstring without its ``Attributes:`` section, as one Markdown paragraph."""
    return _markdown(_docstring_parts(model)[0])


# ------------------------------------------------------------- types, defaults
def type_name(annotation: Any) -> str:
    """A readable type: ``int``, ``str | None``, ``"htk" | "slaney"``, ``list[int]``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        return f"{name}[{inner}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def constraints(info: FieldInfo) -> str:
    """``> 0, < 1``-style bounds from the field's metadata."""
    parts = []
    for meta in info.metadata:
        for attr, symbol in _CONSTRAINTS:
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value:g}" if isinstance(value, float) else f"{symbol} {value}")
    return ", ".join(parts)


def default_text(info: FieldInfo) -> str:
    """The default as JSON (``null``, ``true``, ``[1, 2]``), or ``required``."""
    if info.is_required():
        return "required"
    value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{json.dumps(value)}`"


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The config-section model a field holds (also inside ``X | None`` and as the items of ``list[X]``), else
    ``None``."""
    candidates = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        item = _list_item(candidate)
        if item is not None:
            return item
    return None


def _list_item(annotation: Any) -> type[BaseModel] | None:
    """``X`` of a ``list[X]`` or ``dict[str, X]`` field whose items are config sections, else ``None``."""
    args = typing.get_args(annotation)
    item = args[0] if typing.get_origin(annotation) is list and args else None
    if typing.get_origin(annotation) is dict and len(args) == 2:
        item = args[1]
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None


def _sub_path(path: str, name: str, annotation: Any) -> str:
    """YAML path of a field's section: ``data.streams.grid``; ``data.streams.sources[]`` for list items and
    ``model.frame_heads.<name>`` for the values of a mapping."""
    key = f"{path}.{name}" if path else name
    for candidate in (annotation, *typing.get_args(annotation)):
        if _list_item(candidate) is not None:
            return f"{key}[]" if typing.get_origin(candidate) is list else f"{key}.<name>"
    return key


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def anchor(title: str) -> str:
    """GitHub's heading anchor for ``title``."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


# ------------------------------------------------------------------- rendering
def field_table(model: type[BaseModel], links: dict[str, str] | None = None) -> list[str]:
    """Markdown table rows of ``model``'s fields; ``links`` maps a field to the heading of its section."""
    descriptions = field_descriptions(model)
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        sub = (links or {}).get(name)
        kind = f"`{_cell(type_name(info.annotation))}`"
        if sub:
            kind = f"[section](#{anchor(sub)})"
            if sub.endswith("[]`"):
                kind = f"list of [sections](#{anchor(sub)})"
            elif sub.endswith(".<name>`"):
                kind = f"mapping of name to [section](#{anchor(sub)})"
        bound = constraints(info)
        if bound:
            kind += f" ({bound})"
        rows.append(f"| `{name}` | {kind} | {_cell(default_text(info))} | {_cell(descriptions[name])} |")
    return rows


def render_sections(model: type[BaseModel], path: str, level: int = 3) -> list[str]:
    """Heading, summary and table of the section at YAML ``path``, then its sub-sections."""
    subsections = {}
    for name, info in model.model_fields.items():
        sub = _section_model(info.annotation)
        if sub is not None:
            subsections[name] = (sub, _sub_path(path, name, info.annotation))
    title = f"`{path}`" if path else "top level"
    out = [f"{'#' * level} {title}", ""]
    summary = model_summary(model)
    if summary:
        out += [summary, ""]
    out += field_table(model, {name: f"`{sub_path}`" for name, (_, sub_path) in subsections.items()})
    out.append("")
    for sub, sub_path in subsections.values():
        out += render_sections(sub, sub_path, level)
    return out


def _plugin_records() -> list[Any]:
    """Active first-party plugin records, sorted by kind and name."""
    from chroma.plugins.first_party import FIRST_PARTY_DISTRIBUTIONS
    from chroma.plugins.registry import get_registry

    records = [
        r for r in get_registry().records() if r.spec is not None and r.distribution in FIRST_PARTY_DISTRIBUTIONS
    ]
    return sorted(records, key=lambda r: (r.kind, r.name))


_PLUGIN_SECTION = {
    "text_encoder": ("model.text_encoder", "type"),
    "audio_encoder": ("model.audio_encoder", "type"),
    "midi_encoder": ("model.midi_encoder", "type"),
    "fusion": ("model.fusion", "strategy"),
    "frame_head": ("model.frame_heads.<name>", "type"),
}


def render_plugins() -> list[str]:
    out: list[str] = []
    for record in _plugin_records():
        section, key = _PLUGIN_SECTION[record.kind]
        spec = record.spec
        out += [f"### {record.kind} `{record.name}`", ""]
        line = f"Selected by `{section}.{key}: {record.name}`; provided by `{record.distribution}`."
        if spec.description:
            line = f"{_markdown(spec.description)}. {line}"
        out += [line, ""]
        if spec.config_model.model_fields:
            out += field_table(spec.config_model)
        else:
            out.append("No options.")
        out.append("")
    return out


def render() -> str:
    """The whole reference as Markdown."""
    from chroma_framework.config import ChromaConfig

    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/gen_config_reference.py from the pydantic models; do not edit by hand. -->",
        "",
        f"Generated from the config models; regenerate with `{REGENERATE}` after changing a field.",
        "Unknown keys are errors everywhere. A plugin-selecting section (`model.*_encoder`, `model.fusion`)",
        "takes its common keys plus the options of the plugin it selects, listed under",
        "[Plugin options](#plugin-options). See [configuration.md](configuration.md) for how a config is",
        "validated and the example configs. `None` in a description is YAML `null`.",
        "",
        "## Sections",
        "",
        *render_sections(ChromaConfig, ""),
        "## Plugin options",
        "",
        "Options of every installed first-party plugin, given as extra keys of the section that selects it.",
        "",
        *render_plugins(),
    ]
    return "\n".join(lines).rstrip() + "\n"


def undocumented() -> list[str]:
    """YAML paths of config fields without a description (for the owners of the models)."""
    from chroma_framework.config import ChromaConfig

    found: list[str] = []

    def walk(model: type[BaseModel], path: str) -> None:
        for name, text in field_descriptions(model).items():
            annotation = model.model_fields[name].annotation
            sub = _section_model(annotation)
            key = _sub_path(path, name, annotation)
            if sub is not None:
                walk(sub, key)
            elif not text:
                found.append(key)

    walk(ChromaConfig, "")
    for record in _plugin_records():
        found += [
            f"{record.kind} {record.name}: {n}"
            for n, t in field_descriptions(record.spec.config_model).items()
            if not t
        ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    parser.add_argument("--undocumented", action="store_true", help="list fields that have no description")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if args.undocumented:
        print("\n".join(undocumented()))
        return 0
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is out of date; run: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
