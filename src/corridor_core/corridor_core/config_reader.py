"""Typed reading of parsed YAML with errors that name the file, the path and the rule.

Configuration is loaded once, at the boundary, into frozen dataclasses. A :class:`Field` walks
the parsed document and raises :class:`ConfigError` like
``maps/x.yaml: segments[3].length_m must be > 0``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from corridor_core.errors import ConfigError


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, "", f"cannot be read ({exc.strerror})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        raise ConfigError(source, "", f"is not valid YAML at {where}") from exc


class Field:
    """A value at a path inside a parsed document, with typed accessors."""

    def __init__(self, source: str, path: str, value: Any) -> None:
        self.source = source
        self.path = path
        self.value = value

    def error(self, rule: str) -> ConfigError:
        """A ConfigError for this field breaking ``rule``."""
        return ConfigError(self.source, self.path, rule)

    def _child_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """True when this mapping has ``key``."""
        return isinstance(self.value, dict) and key in self.value

    def get(self, key: str, default: Any = ...) -> Field:
        """The field at ``key``; required unless a default is given."""
        if not isinstance(self.value, dict):
            raise self.error("must be a mapping")
        if key not in self.value:
            if default is ...:
                raise ConfigError(self.source, self._child_path(key), "is required")
            return Field(self.source, self._child_path(key), default)
        return Field(self.source, self._child_path(key), self.value[key])

    def items(self) -> Iterator[Field]:
        """The elements of a list field."""
        if not isinstance(self.value, list):
            raise self.error("must be a list")
        for i, item in enumerate(self.value):
            yield Field(self.source, f"{self.path}[{i}]", item)

    def text(self) -> str:
        """A non-empty string."""
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.error("must be a non-empty string")
        return self.value

    def number(
        self, *, gt: float | None = None, ge: float | None = None, le: float | None = None
    ) -> float:
        """A finite real number, optionally bounded."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise self.error("must be a number")
        number = float(self.value)
        if not math.isfinite(number):
            raise self.error("must be a finite number")
        if le is not None and not number <= le:
            raise self.error(f"must be <= {le:g}")
        if gt is not None and not number > gt:
            raise self.error(f"must be > {gt:g}")
        if ge is not None and not number >= ge:
            raise self.error(f"must be >= {ge:g}")
        return number

    def integer(self, *, ge: int | None = None) -> int:
        """A whole number, optionally bounded below."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error("must be a whole number")
        if ge is not None and self.value < ge:
            raise self.error(f"must be >= {ge}")
        return int(self.value)

    def optional(self, key: str) -> Field | None:
        """The field at ``key``, or None when it is absent or null."""
        if not self.has(key) or self.value[key] is None:
            return None
        return self.get(key)

    def choice(self, allowed: list[str]) -> str:
        """One of ``allowed``."""
        if self.value not in allowed:
            raise self.error(f"must be one of {', '.join(allowed)} (got {self.value!r})")
        return str(self.value)
