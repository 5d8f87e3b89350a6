"""Small files that are expensive to decode, built here.

- EXIF blocks that cost seconds of CPU to parse: one IFD entry holding a million rationals,
  carried by JPEG (APP1 segments, concatenated by Pillow), PNG (eXIf) and WebP (EXIF chunk);
- WebPs whose decoding takes far more memory than their pixel count suggests: a lossless
  4096x4096 canvas in 702 bytes, animations, and containers whose headers disagree.

Run as a script to print the CPU time decode_image spends on each EXIF bomb and the RSS
(ru_maxrss, in a fresh process each) it adds for each WebP:
    .venv/bin/python -m tests.imaging.bombs
"""

from __future__ import annotations

import io
import struct

from PIL import Image

RATIONALS = 1_200_000
XRESOLUTION = 0x011A  # read by Pillow's JPEG plugin at open (for the dpi)
ORIENTATION = 0x0112  # read by ImageOps.exif_transpose, which then re-serialises every tag


def tiff_block(rationals: int = RATIONALS, orientation: int = 6) -> bytes:
    """A little-endian TIFF header and IFD0: Orientation, then XResolution holding
    `rationals` unsigned rationals (8 bytes each)."""
    entries = 2
    data_offset = 8 + 2 + 12 * entries + 4
    ifd = struct.pack("<H", entries)
    ifd += struct.pack("<HHIHH", ORIENTATION, 3, 1, orientation, 0)
    ifd += struct.pack("<HHII", XRESOLUTION, 5, rationals, data_offset)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<II", 72, 1) * rationals


def jpeg_with_exif(tiff: bytes, size: tuple[int, int] = (40, 20), piece: int = 65527) -> bytes:
    """A small JPEG whose EXIF (b"Exif\\0\\0" + tiff) is split over APP1 segments of at most
    `piece` bytes of the block each (a segment holds at most 64 KiB), right after SOI."""
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, "JPEG")
    jpeg = buffer.getvalue()
    segments = b"".join(
        b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(part)) + b"Exif\x00\x00" + part
        for part in (tiff[i : i + piece] for i in range(0, len(tiff), piece))
    )
    return jpeg[:2] + segments + jpeg[2:]


def png_with_exif(tiff: bytes, size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, "PNG", exif=tiff)
    return buffer.getvalue()


def webp_with_exif(tiff: bytes, size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, "WEBP", lossless=True, exif=tiff)
    return buffer.getvalue()


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def lossless_webp(side: int) -> bytes:
    """A black side x side lossless WebP: 702 bytes at 4096."""
    return encode(Image.new("L", (side, side)), "WEBP", lossless=True)


def animated_webp(side: int, frames: int) -> bytes:
    """A lossless animation: frame i is gray level i (frame 0 black)."""
    images = [Image.new("RGB", (side, side), (i, i, i)) for i in range(frames)]
    return encode(images[0], "WEBP", lossless=True, save_all=True, append_images=images[1:])


def riff(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def webp_with_many_frames(count: int) -> bytes:
    """An 8x8 animation whose second frame (its ANMF chunk) is repeated: `count` frames."""
    data = animated_webp(8, 2)
    anmf = [i for i in range(12, len(data) - 4) if data[i : i + 4] == b"ANMF"]
    return riff(data[12 : anmf[1]] + data[anmf[1] :] * (count - 1))


def webp_whose_bitstream_outgrows_its_canvas(width: int, height: int) -> bytes:
    """A VP8X WebP (16x16 canvas, with EXIF) whose VP8L header is patched to width x height."""
    data = bytearray(encode(Image.new("L", (16, 16)), "WEBP", lossless=True, exif=b"Exif"))
    at = data.index(b"VP8L") + 8
    assert data[at] == 0x2F
    bits = int.from_bytes(data[at + 1 : at + 5], "little") & ~((1 << 28) - 1)
    bits |= (width - 1) | ((height - 1) << 14)
    data[at + 1 : at + 5] = bits.to_bytes(4, "little")
    return bytes(data)


WEBP_BOMBS = {
    "lossless-4096x4096": lambda: lossless_webp(4096),
    "lossless-2048x2048": lambda: lossless_webp(2048),
    "animated-4096x4096-3-frames": lambda: animated_webp(4096, 3),
    "animated-2048x2048-50-frames": lambda: animated_webp(2048, 50),
}


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from a parent)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _rss_of_decoding(data: bytes) -> str:
    """In this process, which has built nothing big: the peak RSS decode_image adds."""
    from app.imaging import ImageRejected, decode_image
    from app.settings import Settings

    settings = Settings()
    before = _peak_rss_mb()
    try:
        outcome = "decoded {}x{}".format(*decode_image(data, settings).size)
    except ImageRejected as error:
        outcome = f"{error.status} {error.code}"
    added = _peak_rss_mb() - before
    return f"{len(data):,} bytes: +{added:.0f} MB RSS, {outcome}"


def main() -> None:
    import subprocess
    import sys
    import time

    if sys.argv[1:] == ["--rss"]:  # a fresh process: the file's bytes come on stdin
        print(_rss_of_decoding(sys.stdin.buffer.read()))
        return

    from app.imaging import ImageRejected, decode_image
    from app.settings import Settings

    tiff = tiff_block()
    for name, make in [("JPEG", jpeg_with_exif), ("PNG", png_with_exif), ("WebP", webp_with_exif)]:
        data = make(tiff)
        start = time.process_time()
        try:
            outcome = "decoded {}x{}".format(*decode_image(data, Settings()).size)
        except ImageRejected as error:
            outcome = f"{error.status} {error.code}"
        spent = time.process_time() - start
        print(f"{name}: {len(data):,} bytes, {RATIONALS:,} rationals: {spent:.2f} s CPU, {outcome}")
    for name, make in WEBP_BOMBS.items():
        child = [sys.executable, "-m", "tests.imaging.bombs", "--rss"]
        done = subprocess.run(child, input=make(), capture_output=True, check=True)
        print(f"WebP {name}: {done.stdout.decode().strip()}")


if __name__ == "__main__":
    main()
