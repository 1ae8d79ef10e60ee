"""An image's kind and declared pixel size, read from its header without decoding it.

A small file can declare an enormous image (a "decompression bomb": a 1 MB
PNG of 30000×30000 pixels decodes to gigabytes). :func:`declared_size` reads
the size each format states in its first bytes, so that the decoder is never
asked to allocate more than the pixel budget allows.
"""

from __future__ import annotations

import struct

__all__ = ["declared_size"]


def _png(data: bytes) -> tuple[int, int] | None:
    # IHDR is the first chunk: width and height at bytes 16..24, big-endian
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    from ._images import _jpeg_info

    return _jpeg_info(data)[0]


def _bmp(data: bytes) -> tuple[int, int] | None:
    if len(data) < 26:
        return None
    header = struct.unpack("<I", data[14:18])[0]
    if header == 12:  # OS/2 BITMAPCOREHEADER
        w, h = struct.unpack("<HH", data[18:22])
    else:
        w, h = struct.unpack("<ii", data[18:26])
    return abs(w), abs(h)


def _gif(data: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", data[6:10]) if len(data) >= 10 else None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        b = data[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    if chunk == b"VP8X" and len(data) >= 30:
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return w, h
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    magic = struct.unpack(order + "H", data[2:4])[0]
    try:
        if magic == 42:
            (offset,) = struct.unpack(order + "I", data[4:8])
            (n,) = struct.unpack(order + "H", data[offset : offset + 2])
            entry, start, count_fmt = 12, offset + 2, None
        elif magic == 43:  # BigTIFF
            (offset,) = struct.unpack(order + "Q", data[8:16])
            (n,) = struct.unpack(order + "Q", data[offset : offset + 8])
            entry, start, count_fmt = 20, offset + 8, "Q"
        else:
            return None
        size = {}
        for k in range(min(n, 4096)):
            e = data[start + k * entry : start + (k + 1) * entry]
            tag, kind = struct.unpack(order + "HH", e[:4])
            if tag not in (256, 257):
                continue
            value = e[8:] if count_fmt else e[8:12]
            fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if fmt is None:
                return None
            size[tag] = struct.unpack(order + fmt, value[: struct.calcsize(fmt)])[0]
        if 256 in size and 257 in size:
            return size[256], size[257]
    except struct.error:
        return None
    return None


def _jp2(data: bytes) -> tuple[int, int] | None:
    if data[:4] == b"\xff\x4f\xff\x51":  # raw codestream: SIZ marker
        if len(data) < 24:
            return None
        xsiz, ysiz, xo, yo = struct.unpack(">IIII", data[8:24])
        return xsiz - xo, ysiz - yo
    at = data.find(b"ihdr", 0, 4096)
    if at < 0 or len(data) < at + 12:
        return None
    h, w = struct.unpack(">II", data[at + 4 : at + 12])
    return w, h


def _pnm(data: bytes) -> tuple[int, int] | None:
    tokens: list[bytes] = []
    for line in data[2:4096].splitlines():
        tokens += line.split(b"#", 1)[0].split()
        if len(tokens) >= 2:
            try:
                return int(tokens[0]), int(tokens[1])
            except ValueError:
                return None
    return None


def _kind(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"\xff\xd8":
        return "jpeg"
    if data[:2] == b"BM":
        return "bmp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or data[:4] == b"\xff\x4f\xff\x51":
        return "jpeg2000"
    if data[:1] == b"P" and data[1:2] in b"123456" and data[2:3].isspace():
        return "pnm"
    return None


_READERS = {
    "png": _png,
    "jpeg": _jpeg,
    "bmp": _bmp,
    "gif": _gif,
    "webp": _webp,
    "tiff": _tiff,
    "jpeg2000": _jp2,
    "pnm": _pnm,
}


def declared_size(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    """The file kind and the ``(width, height)`` its header declares.

    Parameters
    ----------
    data : bytes
        The file's content (only the first few kilobytes are looked at, except
        for JPEG, whose frame header may follow large metadata segments).

    Returns
    -------
    kind : str or None
        ``"png"``, ``"jpeg"``, ``"bmp"``, ``"gif"``, ``"webp"``, ``"tiff"``,
        ``"jpeg2000"``, ``"pnm"``, or None for an unrecognised file.
    size : tuple of int or None
        The declared size, or None when the header cannot be read.
    """
    kind = _kind(data)
    if kind is None:
        return None, None
    try:
        return kind, _READERS[kind](data)
    except (struct.error, IndexError, ValueError):
        return kind, None
