"""Bounded decoding of untrusted JSON, and typed reads of its fields.

Pure. Whatever bytes come in, the functions here return checked values or raise
:class:`~corridor_core.errors.ProtocolError` naming the message, the field path and the rule
broken (``state from T01: field agvPosition.x must be a number (got string)``); no other
exception escapes for any input. A payload is refused before parsing when it is larger than
``max_bytes`` or nests objects/arrays deeper than ``max_depth`` (found by byte passes that cannot
recurse); parsing refuses invalid UTF-8, ``NaN``/``Infinity`` literals and integers beyond
Python's digit limit; a root that is not an object is refused. Numbers read are finite ints or
floats inside the range the caller states, so ``float()`` of them cannot fail or overflow.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn

from corridor_core.errors import ProtocolError

MAX_PAYLOAD_BYTES = 64 * 1024
"""Largest payload parsed: a state of our trucks is about 2.5 KiB, one with 300 node and edge
states (with positions) about 62 KiB."""
MAX_DEPTH = 16
"""Deepest nesting of objects and arrays parsed; VDA 5050 v2.0 messages nest at most 8 deep."""
MAX_TEXT_CHARS = 1024
"""Longest string field read (ids, enum values, error descriptions)."""
MAX_ITEMS = 1000
"""Most items read from one array field."""
UINT32_MAX = 2**32 - 1


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_BRACES = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')


def load_object(
    payload: bytes, what: str, *, max_bytes: int = MAX_PAYLOAD_BYTES, max_depth: int = MAX_DEPTH
) -> dict[str, Any]:
    """Parse ``payload`` (UTF-8 JSON) into a dict, within the size and depth bounds.

    Args:
        payload: the raw message.
        what: names the message in errors, e.g. ``"state from T01"``.
        max_bytes: larger payloads are refused unparsed.
        max_depth: objects/arrays nested deeper than this are refused unparsed (the root is
            depth 1).

    Raises:
        ProtocolError: the payload is not bytes, too large, too deep, not UTF-8 JSON, or not
            an object.
    """
    if not isinstance(payload, bytes | bytearray):
        raise ProtocolError(f"{what}: payload must be bytes, not {type(payload).__name__}")
    if len(payload) > max_bytes:
        raise ProtocolError(f"{what}: payload of {len(payload)} bytes exceeds {max_bytes} bytes")
    if nesting_depth(bytes(payload), max_depth) > max_depth:
        raise ProtocolError(f"{what}: payload nests objects/arrays deeper than {max_depth}")
    try:
        msg = _DECODER.decode(payload.decode("utf-8"))
    except RecursionError as exc:  # only if max_depth is set above the recursion limit
        raise ProtocolError(f"{what}: payload is not valid JSON (nested too deep)") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the int digit limit
        raise ProtocolError(f"{what}: payload is not valid JSON ({exc})") from exc
    if not isinstance(msg, dict):
        raise ProtocolError(f"{what}: payload must be a JSON object")
    return msg


def nesting_depth(payload: bytes, stop_above: int) -> int:
    """How deep objects and arrays nest in JSON text ``payload``, counted up to ``stop_above + 1``.

    Exact for valid JSON; for invalid JSON any number, as the parser refuses that text anyway.
    Made of C-speed passes over the bytes (at most ``stop_above + 1`` after the first few), so
    it costs little and cannot recurse: escaped quotes and backslashes are cut out, then all
    but brackets and quotes; brackets inside strings go with their quotes; each further pass
    removes the innermost pairs.
    """
    if b"\\" in payload:
        payload = payload.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = payload.translate(_BRACES, _NOT_STRUCTURE)  # only [ ] and "
    kept = kept.replace(b'""', b"")  # strings without brackets (two adjacent quotes: safe)
    if b'"' in kept:  # strings with brackets in them are left
        kept = b"".join(kept.split(b'"')[::2])
    depth = 0
    while kept and depth <= stop_above:
        inner = kept.replace(b"[]", b"")
        if len(inner) == len(kept):
            break  # unbalanced: not JSON, the parser says so
        kept, depth = inner, depth + 1
    return depth


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


_MISSING: Any = object()


class Fields:
    """Typed reads of the fields of one decoded JSON object.

    Every read checks the field's type and range and raises :class:`ProtocolError` with
    ``"<what>: field <path> <rule>"`` otherwise. A read with ``default`` returns it when the
    field is absent (a present field must still be right). Types are compared exactly
    (``type(v) is str``): :mod:`json` makes no subclasses, and ``bool`` is not a number here.

    Args:
        obj: the object read.
        what: names the message in errors.
        path: where ``obj`` sits in the message ("" for the root, e.g. ``batteryState``).
        index: ``obj`` is item ``index`` of the array at ``path`` (-1: it is not an item).
    """

    __slots__ = ("_index", "obj", "path", "what")

    def __init__(self, obj: Mapping[str, Any], what: str, path: str = "", index: int = -1) -> None:
        self.obj = obj
        self.what = what
        self.path = path
        self._index = index  # item ``index`` of array ``path``; the text is built on failure

    def _where(self, key: str) -> str:
        path = f"{self.path}[{self._index}]" if self._index >= 0 else self.path
        return f"{path}.{key}" if path else key

    def fail(self, key: str, rule: str) -> NoReturn:
        """Raise the ProtocolError for field ``key`` breaking ``rule``."""
        raise ProtocolError(f"{self.what}: field {self._where(key)} {rule}")

    def _absent_or_wrong(self, key: str, kind: str, value: object, default: object) -> Any:
        """``default`` for an absent field with one; raises for every other case."""
        if value is _MISSING:
            if default is not _MISSING:
                return default
            self.fail(key, f"must be {kind} (got nothing)")
        self.fail(key, f"must be {kind} (got {_json_type(value)})")

    def text(
        self,
        key: str,
        *,
        choices: tuple[str, ...] = (),
        max_chars: int = MAX_TEXT_CHARS,
        default: Any = _MISSING,
    ) -> str:
        """A string of at most ``max_chars``, one of ``choices`` when given."""
        value = self.obj.get(key, _MISSING)
        if type(value) is not str:
            return self._absent_or_wrong(key, "str", value, default)  # type: ignore[no-any-return]
        if len(value) > max_chars:
            self.fail(key, f"must be at most {max_chars} characters long")
        if choices and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}")
        return value

    def integer(
        self, key: str, *, low: int = 0, high: int = UINT32_MAX, default: Any = _MISSING
    ) -> int:
        """An integer literal in ``[low, high]`` (default: uint32)."""
        value = self.obj.get(key, _MISSING)
        if type(value) is not int:
            return self._absent_or_wrong(key, "int", value, default)  # type: ignore[no-any-return]
        if value < low:
            self.fail(key, f"must be >= {low}")
        if value > high:
            self.fail(key, f"must be <= {high}")
        return value

    def number(self, key: str, *, low: float, high: float, default: Any = _MISSING) -> float:
        """A finite number in ``[low, high]``, as a float."""
        value = self.obj.get(key, _MISSING)
        kind = type(value)
        if kind is not float and kind is not int:
            return self._absent_or_wrong(key, "a number", value, default)  # type: ignore[no-any-return]
        # Compared before float(): a huge int compares exactly but does not convert.
        if not low <= value <= high:
            if kind is float and not math.isfinite(value):
                self.fail(key, "must be a finite number")
            self.fail(key, f"must be within [{low:g}, {high:g}]")
        return float(value)

    def flag(self, key: str, *, default: Any = _MISSING) -> bool:
        """A boolean."""
        value = self.obj.get(key, _MISSING)
        if type(value) is not bool:
            return self._absent_or_wrong(key, "bool", value, default)  # type: ignore[no-any-return]
        return value

    def array(self, key: str, *, max_items: int = MAX_ITEMS) -> list[Any]:
        """An array of at most ``max_items`` items (of any type)."""
        value = self.obj.get(key, _MISSING)
        if type(value) is not list:
            self._absent_or_wrong(key, "an array", value, _MISSING)
        if len(value) > max_items:
            self.fail(key, f"must have at most {max_items} items")
        return value  # type: ignore[no-any-return]

    def child(self, key: str) -> Fields:
        """The object in field ``key``."""
        value = self.obj.get(key, _MISSING)
        if type(value) is not dict:
            self._absent_or_wrong(key, "an object", value, _MISSING)
        return Fields(value, self.what, self._where(key))

    def children(self, key: str, *, max_items: int = MAX_ITEMS) -> list[Fields]:
        """The objects of array field ``key``; every item must be an object."""
        items = self.array(key, max_items=max_items)
        where = self._where(key)
        out = []
        for i, item in enumerate(items):
            if type(item) is not dict:
                self.fail(f"{key}[{i}]", f"must be an object (got {_json_type(item)})")
            out.append(Fields(item, self.what, where, i))
        return out

    def texts(self, key: str, field: str, *, max_items: int = MAX_ITEMS) -> tuple[str, ...]:
        """String ``field`` of every object in array field ``key`` (as :meth:`text` reads it)."""
        out: list[str] = []
        for i, item in enumerate(self.array(key, max_items=max_items)):
            value = item.get(field) if type(item) is dict else None
            if type(value) is str and len(value) <= MAX_TEXT_CHARS:
                out.append(value)
            else:
                self.children(key, max_items=max_items)[i].text(field)  # raises, naming why
        return tuple(out)

    def has(self, key: str) -> bool:
        """Whether field ``key`` is present (even if null)."""
        return key in self.obj
