"""A small CBOR (RFC 8949) codec for the Smithy RPC v2 CBOR protocol, written for the sandbox.

Only what the protocol uses: unsigned/negative integers, byte and text strings (definite and indefinite
length), arrays, maps, tag 1 (epoch-seconds timestamps), booleans, null/undefined and half/single/double
floats. Timestamps decode to aware UTC ``datetime`` and ``datetime`` values encode as tag 1.
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime
from typing import Any


class CBORError(ValueError):
    """The bytes are not well-formed CBOR (or use a feature the protocol does not)."""


_BREAK = object()


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([(major << 5) | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([(major << 5) | info]) + value.to_bytes(size, "big")
    raise CBORError(f"integer {value} does not fit in 64 bits")


def encode(value: Any) -> bytes:
    """Encode a Python value (dict, list, str, bytes, int, float, bool, None, datetime) as CBOR."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, float):
        if math.isnan(value):
            out += b"\xf9\x7e\x00"
        elif math.isinf(value):
            out += b"\xf9\x7c\x00" if value > 0 else b"\xf9\xfc\x00"
        else:
            out += b"\xfb" + struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(value, (bytes, bytearray)):
        out += _head(2, len(value)) + bytes(value)
    elif isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        seconds = aware.timestamp()
        out += b"\xc1"  # tag 1
        _encode(int(seconds) if seconds == int(seconds) else seconds, out)
    elif isinstance(value, dict):
        out += _head(5, len(value))
        for key, item in value.items():
            _encode(key, out)
            _encode(item, out)
    elif isinstance(value, (list, tuple)):
        out += _head(4, len(value))
        for item in value:
            _encode(item, out)
    else:
        raise CBORError(f"cannot encode {type(value).__name__} as CBOR")


def decode(data: bytes) -> Any:
    """Decode exactly one CBOR data item; trailing bytes are an error."""
    value, pos = _decode(memoryview(data), 0)
    if value is _BREAK:
        raise CBORError("unexpected break code")
    if pos != len(data):
        raise CBORError(f"{len(data) - pos} trailing byte(s) after the CBOR item")
    return value


def _need(buf: memoryview, pos: int, n: int) -> None:
    if pos + n > len(buf):
        raise CBORError("truncated CBOR input")


def _argument(buf: memoryview, pos: int, info: int) -> tuple[int | None, int]:
    if info < 24:
        return info, pos
    if info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        _need(buf, pos, size)
        return int.from_bytes(buf[pos : pos + size], "big"), pos + size
    if info == 31:
        return None, pos  # indefinite length
    raise CBORError(f"reserved additional information {info}")


def _decode(buf: memoryview, pos: int) -> tuple[Any, int]:
    _need(buf, pos, 1)
    initial = buf[pos]
    pos += 1
    major, info = initial >> 5, initial & 0x1F
    if major == 7:
        return _simple(buf, pos, info)
    arg, pos = _argument(buf, pos, info)
    if major == 0:
        if arg is None:
            raise CBORError("indefinite-length integer")
        return arg, pos
    if major == 1:
        if arg is None:
            raise CBORError("indefinite-length integer")
        return -1 - arg, pos
    if major in (2, 3):
        if arg is None:
            chunks: list[bytes] = []
            while True:
                item, pos = _decode(buf, pos)
                if item is _BREAK:
                    break
                chunks.append(item.encode("utf-8") if isinstance(item, str) else bytes(item))
            raw = b"".join(chunks)
        else:
            _need(buf, pos, arg)
            raw = bytes(buf[pos : pos + arg])
            pos += arg
        if major == 2:
            return raw, pos
        try:
            return raw.decode("utf-8"), pos
        except UnicodeDecodeError as exc:
            raise CBORError("text string is not valid UTF-8") from exc
    if major == 4:
        items: list[Any] = []
        if arg is None:
            while True:
                item, pos = _decode(buf, pos)
                if item is _BREAK:
                    return items, pos
                items.append(item)
        for _ in range(arg):
            item, pos = _decode(buf, pos)
            items.append(item)
        return items, pos
    if major == 5:
        mapping: dict[Any, Any] = {}
        count = arg
        while count is None or len(mapping) < count:
            key, pos = _decode(buf, pos)
            if key is _BREAK and count is None:
                return mapping, pos
            if isinstance(key, (list, dict)):
                raise CBORError("map key must be a scalar")
            value, pos = _decode(buf, pos)
            mapping[key] = value
        return mapping, pos
    # major 6: tags
    value, pos = _decode(buf, pos)
    if arg == 1:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise CBORError("tag 1 (epoch timestamp) must wrap a number")
        return datetime.fromtimestamp(value, tz=UTC), pos
    raise CBORError(f"unsupported CBOR tag {arg}")


def _simple(buf: memoryview, pos: int, info: int) -> tuple[Any, int]:
    if info == 20:
        return False, pos
    if info == 21:
        return True, pos
    if info in (22, 23):
        return None, pos
    if info == 25:
        _need(buf, pos, 2)
        return struct.unpack(">e", bytes(buf[pos : pos + 2]))[0], pos + 2
    if info == 26:
        _need(buf, pos, 4)
        return struct.unpack(">f", bytes(buf[pos : pos + 4]))[0], pos + 4
    if info == 27:
        _need(buf, pos, 8)
        return struct.unpack(">d", bytes(buf[pos : pos + 8]))[0], pos + 8
    if info == 31:
        return _BREAK, pos
    raise CBORError(f"unsupported simple value {info}")
