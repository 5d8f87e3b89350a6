"""Untrusted bytes, before Pillow sees them: what type they claim to be (by content, an
allow-list), bounds on their container structure (PNG chunks, JPEG scans and segments, GIF
blocks, WebP chunks and frames), the sizes a WebP container declares, and EXIF blocks too big
to parse, all walked cheaply in bytes so that a file built to burn CPU or memory is refused
(or its EXIF ignored) first."""

from __future__ import annotations

import re

from app.imaging.errors import ImageRejected

# Pillow's name -> what users call it. GIF uses its first frame only.
ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP", "BMP": "BMP"}

# Leading bytes of allowed formats, used to tell "not an allowed type" (415) from "an allowed
# type, but broken" (422) when Pillow cannot identify the file.
_ALLOWED_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)
# Pillow decoders written in Python: seconds of CPU per megabyte (an RLE8 BMP of 10 MiB takes
# Container structure is bounded before Pillow parses it: Pillow walks PNG chunks, JPEG
# segments and GIF blocks in Python (1-2 s of CPU per MiB of tiny ones), and libjpeg re-walks
# every block of the image for each progressive scan (1,000 extra scans of 56 bytes each cost
# ~5 s at 4096x4096). Legitimate files stay far below these (phone JPEGs: ~10 scans, ~20
# segments; PNG encoders write IDAT chunks of 8-64 KiB).
MAX_PNG_CHUNKS = 10_000
MAX_JPEG_SCANS = 100
MAX_JPEG_MARKERS = 4_096
MAX_GIF_BLOCKS = 10_000
# In entropy-coded JPEG data 0xFF is followed only by 0x00 or RSTn (0xD0-0xD7); these bytes
# after 0xFF are markers (or, rarely, payload bytes of APPn segments: an over-count).
_JPEG_MARKER = re.compile(rb"\xff[\xc0-\xcf\xd8-\xfe]")
# Recognised only to name them in the 415 message.
_OTHER_MAGIC = (
    (b"%PDF", "PDF"),
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
)


def allowed_list() -> str:
    return ", ".join(ALLOWED_FORMATS.values())


def sniff(data: bytes) -> tuple[str | None, str | None]:
    """(allowed format the bytes claim to be, or None; other recognised type, or None)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP", None
    for magic, name in _ALLOWED_MAGIC:
        if data.startswith(magic):
            return name, None
    for magic, name in _OTHER_MAGIC:
        if data.startswith(magic):
            return None, name
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        return None, "SVG/XML"
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        return None, "HTML"
    return None, None


def unsupported(other: str | None) -> ImageRejected:
    seen = f" (this looks like {other})" if other else ""
    return ImageRejected(
        415,
        "unsupported_media_type",
        f"unsupported image type{seen}; allowed: {allowed_list()}",
        allowed=list(ALLOWED_FORMATS.values()),
    )


def _too_complex(fmt: str, parts: str, limit: int) -> ImageRejected:
    name = ALLOWED_FORMATS[fmt]
    return ImageRejected(
        422,
        "image_too_complex",
        f"the {name} file has more than {limit:,} {parts}; the limit is {limit:,}",
        limit=limit,
    )


def _png_chunk_count_exceeds(data: bytes, limit: int) -> bool:
    position, chunks = 8, 0
    while position + 8 <= len(data) and chunks <= limit:
        length = int.from_bytes(data[position : position + 4], "big")
        chunks += 1
        if data[position + 4 : position + 8] == b"IEND":
            break
        position += 12 + length
    return chunks > limit


def _gif_block_count_exceeds(data: bytes, limit: int) -> bool:
    """Extension sub-blocks before the first image (the part Pillow parses in Python)."""
    if len(data) < 13:
        return False
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    blocks = 0
    while position + 1 < len(data) and data[position] == 0x21:  # an extension
        position += 2
        while position < len(data):
            size = data[position]
            position += 1 + size
            blocks += 1
            if blocks > limit:
                return True
            if size == 0:
                break
    return False


def check_structure(data: bytes, fmt: str) -> None:
    """Raise ImageRejected (422 image_too_complex) for a file of an allowed format whose
    container holds more chunks, segments, scans or blocks than any real image needs."""
    if fmt == "PNG" and _png_chunk_count_exceeds(data, MAX_PNG_CHUNKS):
        raise _too_complex(fmt, "chunks", MAX_PNG_CHUNKS)
    if fmt == "JPEG":
        if data.count(b"\xff\xda") > MAX_JPEG_SCANS:
            raise _too_complex(fmt, "scans", MAX_JPEG_SCANS)
        markers = _JPEG_MARKER.finditer(data)  # lazily: stop at the limit, build no list
        if any(count > MAX_JPEG_MARKERS for count, _ in enumerate(markers, 1)):
            raise _too_complex(fmt, "segments", MAX_JPEG_MARKERS)
        _jpeg_header_segments(data)
    if fmt == "GIF" and _gif_block_count_exceeds(data, MAX_GIF_BLOCKS):
        raise _too_complex(fmt, "extension blocks before its first image", MAX_GIF_BLOCKS)
    if fmt == "WEBP":
        webp_sizes(data)  # counts the chunks


# ----------------------------------------------------------------------------- WebP (RIFF)

# A WebP is a RIFF list of chunks; an animation has one ANMF chunk per frame. Only the first
# frame is ever decoded, yet libwebp's demuxer indexes every chunk up front.
MAX_WEBP_CHUNKS = 10_000


def _webp_bitstream_size(kind: bytes, payload: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8L or VP8 (key frame) bitstream header, or None if short."""
    if kind == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(payload[6:8], "little") & 0x3FFF,
            int.from_bytes(payload[8:10], "little") & 0x3FFF,
        )
    return None


def _riff_chunks(data: bytes, start: int, end: int):
    """(fourcc, payload start, payload end) of the RIFF chunks in data[start:end]."""
    position = start
    while position + 8 <= end:
        kind = data[position : position + 4]
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        payload = position + 8
        yield kind, payload, min(payload + length, end)
        position = payload + length + (length & 1)


def webp_sizes(data: bytes) -> list[tuple[str, int, int]]:
    """Every size a WebP declares, read from the container: ("canvas", w, h) from VP8X,
    ("frame", w, h) from each ANMF frame header, ("bitstream", w, h) from each VP8/VP8L
    header (in a frame or not). Raises ImageRejected 422 image_too_complex past
    MAX_WEBP_CHUNKS chunks (frames and their parts included)."""
    sizes: list[tuple[str, int, int]] = []
    chunks = 0
    pending = [(12, len(data))]
    while pending:
        start, end = pending.pop()
        for kind, begin, stop in _riff_chunks(data, start, end):
            chunks += 1
            if chunks > MAX_WEBP_CHUNKS:
                raise _too_complex("WEBP", "chunks (frames and their parts)", MAX_WEBP_CHUNKS)
            head = data[begin : min(stop, begin + 16)]
            if kind == b"VP8X" and len(head) >= 10:
                width = int.from_bytes(head[4:7], "little") + 1
                sizes.append(("canvas", width, int.from_bytes(head[7:10], "little") + 1))
            elif kind == b"ANMF" and len(head) >= 12:
                width = int.from_bytes(head[6:9], "little") + 1
                sizes.append(("frame", width, int.from_bytes(head[9:12], "little") + 1))
                pending.append((begin + 16, stop))
            elif (size := _webp_bitstream_size(kind, head)) is not None:
                sizes.append(("bitstream", *size))
    return sizes


# ----------------------------------------------------------------------------- EXIF

# EXIF is a TIFF directory; Pillow turns every value of a tag into a Python object (a rational
# each), so one tag of 1.2M rationals (9.6 MB) cost ~3 s of CPU. Real EXIF fits in one JPEG
# APP1 segment (64 KiB, thumbnail included); a bigger block is ignored: the image is decoded as
# if it had no EXIF (so no orientation is applied).
MAX_EXIF_BYTES = 64 * 1024


def _jpeg_header_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment before the first scan, the part Pillow walks in
    Python, byte by byte through fill bytes and stand-alone markers (4 MB of RST markers cost
    1 s). Raises ImageRejected 422 image_too_complex past MAX_JPEG_MARKERS steps."""
    segments, position, steps = [], 2, 0
    while position + 4 <= len(data) and data[position] == 0xFF:
        steps += 1
        if steps > MAX_JPEG_MARKERS:
            raise _too_complex("JPEG", "segments, markers and fill bytes", MAX_JPEG_MARKERS)
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte
            position += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length field
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan
            break
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        segments.append((marker, position, end))
        position = end
    return segments


def _jpeg_exif_segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each APP1 "Exif" segment before the first scan (Pillow concatenates
    them all into one EXIF block while opening the file)."""
    return [
        (start, end)
        for marker, start, end in _jpeg_header_segments(data)
        if marker == 0xE1 and data[start + 4 : start + 10] == b"Exif\x00\x00"
    ]


def without_oversized_exif(data: bytes, fmt: str) -> bytes:
    """A JPEG whose EXIF segments together exceed MAX_EXIF_BYTES, without them (Pillow parses
    a JPEG's EXIF while opening it); any other file unchanged (see oversized_exif_keys)."""
    if fmt != "JPEG":
        return data
    spans = _jpeg_exif_segments(data)
    if sum(end - start for start, end in spans) <= MAX_EXIF_BYTES:
        return data
    kept, position = [], 0
    for start, end in spans:
        kept.append(data[position:start])
        position = end
    kept.append(data[position:])
    return b"".join(kept)


def oversized_exif_keys(info: dict) -> list[str]:
    """Keys of a PIL image's info holding EXIF bigger than MAX_EXIF_BYTES ("exif" from PNG
    eXIf or WebP EXIF chunks, "Raw profile type exif": hex text in PNG), to drop before
    anything calls getexif()."""
    sizes = {
        "exif": len(info.get("exif") or b""),
        "Raw profile type exif": len(str(info.get("Raw profile type exif") or "")) // 2,
    }
    return [key for key, size in sizes.items() if size > MAX_EXIF_BYTES]
