"""Hostile-input-proof YAML for scenario files: plain data with each value's line, in bounded time.

PyYAML builds whatever a document describes: ten nested aliases expand to a billion nodes ("billion
laughs"), `&a [*a]` is a cycle, and deep nesting ends in RecursionError. Here the composed node graph is
measured before anything is built: at most MAX_ALIASES aliases, MAX_DEPTH levels and MAX_NODES nodes
once aliases are expanded, no cycles. Only plain tags (str, int, float, bool, null, map, seq) are
accepted, duplicate keys are refused with both lines, and numbers must be finite. Every error is a
`YamlError` carrying the line it is about.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

MAX_ALIASES = 64
MAX_DEPTH = 40
MAX_NODES = 50_000

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}
_ALLOWED_TAGS = _SCALAR_TAGS | {_STD + "map", _STD + "seq"}

_CONSTRUCTOR = yaml.constructor.SafeConstructor()

Path_ = tuple[Any, ...]


@dataclass
class YamlError(Exception):
    """A document refused: `line` (1-based) is where, `message` what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}: {self.message}"


def shown(value: Any, limit: int = 60) -> str:
    """A value's repr for an error message, cut to `limit` characters: errors stay one bounded line."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def decode(data: bytes) -> str:
    """UTF-8 text of a file's bytes; YamlError at the line of the first invalid byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlError(line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from None


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts aliases and nesting while the node graph is being composed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001 (PyYAML's signature)
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlError(self.peek_event().start_mark.line + 1,
                                f"more than {MAX_ALIASES} YAML aliases (*name); write the values out")
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlError(self.peek_event().start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose(text: str) -> yaml.Node | None:
    """The node graph of one YAML document, bounded in aliases and depth; YamlError if not valid YAML."""
    loader = None
    try:
        loader = _BoundedLoader(text)   # its reader already checks every character
        return loader.get_single_node()
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlError(text.count("\n", 0, exc.position) + 1,
                        f"not valid YAML: control character U+{code:04X} is not allowed") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(mark.line + 1 if mark else 1, f"not valid YAML: {exc.problem or exc.context}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _measure(node: yaml.Node, depth: int, on_path: set[int], seen: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(nodes, levels) under `node` once aliases are expanded, memoized; YamlError for cycles, depth, size."""
    line = node.start_mark.line + 1
    if id(node) in on_path:
        raise YamlError(line, "a YAML alias refers to a value containing itself")
    if depth > MAX_DEPTH:  # checked on the way down too: recursion stays as shallow as the limit
        raise YamlError(line, f"nested deeper than {MAX_DEPTH} levels once aliases are expanded")
    if id(node) not in seen:
        size, height = 1, 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            on_path.add(id(node))
            children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
            for child in children:
                child_size, child_height = _measure(child, depth + 1, on_path, seen)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_NODES:
                    raise YamlError(line, f"more than {MAX_NODES} values once aliases are expanded")
            on_path.discard(id(node))
        seen[id(node)] = (size, height)
    size, height = seen[id(node)]
    if depth + height - 1 > MAX_DEPTH:
        raise YamlError(line, f"nested deeper than {MAX_DEPTH} levels once aliases are expanded")
    return size, height


def dotted(path: Path_) -> str:
    """A value's path as written in error messages: phases[1].faults[0].kind."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _scalar(node: yaml.ScalarNode, path: Path_) -> Any:
    if node.tag == _STD + "str" or node.tag not in _SCALAR_TAGS:
        return node.value  # a str tag, or an implicit one left as text (timestamps: scenarios have none)
    try:
        value = _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
    except ValueError:  # an integer of more than 4300 digits (Python's limit)
        raise YamlError(node.start_mark.line + 1, f"{dotted(path)}: {node.value:.20}… is too long a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise YamlError(node.start_mark.line + 1, f"{dotted(path)}: {node.value!s:.20} is not a finite number")
    return value


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    line = node.start_mark.line + 1
    lines[path] = line
    if node.tag not in _ALLOWED_TAGS and node.tag != _STD + "timestamp":
        raise YamlError(line, f"{dotted(path)}: unknown YAML tag {shown(node.tag, 40)}; "
                              "only plain values, lists and mappings")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(key_node.start_mark.line + 1, "a mapping key must be a plain word, not a list or mapping")
            key = str(key_node.value)
            key_line = key_node.start_mark.line + 1
            if key in first_line:
                raise YamlError(key_line, f"duplicate key {shown(key, 40)} (lines {first_line[key]} and {key_line}); "
                                          "keep one")
            first_line[key] = key_line
            out[key] = _build(value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines) for i, item in enumerate(node.value)]
    return _scalar(node, path)


def load(text: str) -> tuple[Any, dict[Path_, int]]:
    """Plain data of one YAML document and the line of each value by its path; (None, {}) when empty.

    Raises YamlError for invalid YAML, too many aliases, too deep or too big a document, unknown tags,
    duplicate keys and non-finite numbers.
    """
    node = compose(text)
    if node is None:
        return None, {}
    _measure(node, 1, set(), {})
    lines: dict[Path_, int] = {}
    return _build(node, (), lines), lines
