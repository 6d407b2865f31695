"""Reading catalogue YAML safely, keeping the line of every value for error messages.

Catalogue files come from admins and volunteers, so they are treated as untrusted: no aliases
(the "billion laughs" bomb), no custom tags, a size and a depth limit, no duplicate keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 12
MAX_NODES = 400_000

Location = tuple[str | int, ...]
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
)


class CatalogueError(Exception):
    """A user error in a catalogue file, shown as `file:line: reason`."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Document:
    """Parsed YAML plus the line where each value starts (keyed by its path of keys/indexes)."""

    path: Path
    data: Any
    lines: dict[Location, int]

    def line_of(self, location: Location) -> int:
        """The line of the value at `location`, or of its nearest enclosing value."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return 1

    def error(self, location: Location, reason: str) -> CatalogueError:
        return CatalogueError(self.path, self.line_of(location), reason)


class _NoAliasLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases, so a small file cannot expand into a huge one."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                None, None, "aliases (*name) are not allowed in catalogue files", event.start_mark
            )
        return super().compose_node(parent, index)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def load_document(path: Path) -> Document:
    """Parse one YAML file, refusing anything hostile with a `file:line: reason` error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CatalogueError(path, 1, f"cannot read the file ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise CatalogueError(path, 1, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CatalogueError(path, line, "the file is not UTF-8 text") from None
    if "\x00" in text:
        raise CatalogueError(path, text[: text.index("\x00")].count("\n") + 1, "NUL byte")

    loader: _NoAliasLoader | None = None
    try:
        loader = _NoAliasLoader(text)  # its reader already refuses control characters
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark else 1
        raise CatalogueError(path, line, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise CatalogueError(
            path, line, f"not valid YAML: {exc.reason} (character {exc.character!r})"
        ) from None
    except yaml.YAMLError as exc:
        raise CatalogueError(path, 1, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        raise CatalogueError(path, 1, "the file is empty")

    lines: dict[Location, int] = {}
    counter = [0]
    data = _to_python(root, (), lines, path, loader, counter)
    return Document(path=path, data=data, lines=lines)


def _to_python(
    node: Node,
    location: Location,
    lines: dict[Location, int],
    path: Path,
    loader: yaml.SafeLoader,
    counter: list[int],
) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise CatalogueError(path, _line(node), f"more than {MAX_NODES:,} values in one file")
    if len(location) > MAX_DEPTH:
        raise CatalogueError(path, _line(node), f"nested deeper than {MAX_DEPTH} levels")
    lines[location] = _line(node)
    if node.tag not in _PLAIN_TAGS:
        raise CatalogueError(path, _line(node), f"custom YAML tags ({node.tag}) are not allowed")
    if isinstance(node, ScalarNode):
        try:
            return loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise CatalogueError(path, _line(node), f"bad value: {exc}") from None
    if isinstance(node, SequenceNode):
        return [
            _to_python(child, (*location, index), lines, path, loader, counter)
            for index, child in enumerate(node.value)
        ]
    if isinstance(node, MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise CatalogueError(path, _line(key_node), "a key must be a plain word")
            key = loader.construct_object(key_node)
            if isinstance(key, int | float | bool) or key is None:
                key = key_node.value  # `no:` or `1:` are names here, not numbers or booleans
            if key == "<<":
                raise CatalogueError(path, _line(key_node), "merge keys (<<) are not allowed")
            if key in result:
                raise CatalogueError(path, _line(key_node), f"duplicate key '{key}'")
            result[key] = _to_python(value_node, (*location, key), lines, path, loader, counter)
        return result
    raise CatalogueError(path, _line(node), "unsupported YAML node")  # pragma: no cover
