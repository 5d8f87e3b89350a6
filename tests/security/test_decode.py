"""app.imaging.decode_image and pixels_to_image against hostile and odd inputs, all generated
here: each case asserts the exact outcome (status and code, or the decoded pixels)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.imaging import (
    MAX_EXIF_BYTES,
    MAX_GIF_BLOCKS,
    MAX_JPEG_MARKERS,
    MAX_JPEG_SCANS,
    MAX_PNG_CHUNKS,
    MAX_WEBP_CHUNKS,
    WORKING_SIDE,
    ImageRejected,
    decode_image,
    pixels_to_image,
)
from app.imaging.containers import webp_sizes, without_oversized_exif
from app.settings import Settings
from tests.imaging.bombs import (
    RATIONALS,
    animated_webp,
    jpeg_with_exif,
    lossless_webp,
    png_with_exif,
    tiff_block,
    webp_whose_bitstream_outgrows_its_canvas,
    webp_with_exif,
    webp_with_many_frames,
)

SETTINGS = Settings()


# ----------------------------------------------------------------------------- generators


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def crafted_png(width: int, height: int, idat: bytes = b"", depth: int = 8, color: int = 0):
    """A PNG whose IHDR declares width x height with a valid CRC: Pillow believes the header."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def zlib_bomb_png(side: int) -> bytes:
    """A real side x side grayscale PNG of zeros: a few KB that inflate to side**2 bytes."""
    rows = (b"\x00" + bytes(side)) * side
    return crafted_png(side, side, zlib.compress(rows, 9))


def gif_declaring(width: int, height: int) -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x08\x02\x4c\x01\x00"
    return screen + frame + b"\x3b"


def bmp_declaring(width: int, height: int) -> bytes:
    small = encode(Image.new("L", (4, 4)), "BMP")
    return small[:18] + struct.pack("<ii", width, height) + small[26:]


def rle8_bmp(width: int, height: int) -> bytes:
    """An RLE8-compressed 8-bit BMP: every pixel its own run (Pillow decodes these in Python)."""
    line = b"\x01\x80" * width + b"\x00\x00"  # runs of 1 pixel of value 128, end of line
    data = line * height + b"\x00\x01"  # end of bitmap
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    file_header = b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset)
    return file_header + info + palette + data


def jpeg_declaring(width: int, height: int) -> bytes:
    small = encode(Image.new("RGB", (8, 8)), "JPEG")
    sof = small.index(b"\xff\xc0")
    return small[: sof + 5] + struct.pack(">HH", height, width) + small[sof + 9 :]


def png_with_private_chunks(count: int) -> bytes:
    """A valid 8x8 PNG with `count` empty private chunks after IHDR (total chunks: count + 3)."""
    png = encode(Image.new("L", (8, 8)), "PNG")
    return png[:33] + png_chunk(b"prVt", b"") * count + png[33:]


def jpeg_with_app_segments(count: int) -> bytes:
    jpeg = encode(Image.new("L", (8, 8)), "JPEG")
    return jpeg[:2] + b"\xff\xe1\x00\x02" * count + jpeg[2:]


def jpeg_with_scans(total: int) -> bytes:
    """A progressive JPEG whose first AC scan is repeated until it has `total` scans."""
    jpeg = encode(Image.new("L", (256, 256), 200), "JPEG", progressive=True)
    starts = [i for i in range(len(jpeg) - 1) if jpeg[i : i + 2] == b"\xff\xda"]
    extra = jpeg[starts[1] : starts[2]] * (total - len(starts))
    return jpeg[:-2] + extra + b"\xff\xd9"


def jpeg_with_header_filler(filler: bytes, count: int) -> bytes:
    """A valid 8x8 JPEG with `count` fill bytes or stand-alone markers right after SOI (Pillow
    steps through these in Python, one at a time)."""
    jpeg = encode(Image.new("L", (8, 8)), "JPEG")
    return jpeg[:2] + filler * count + jpeg[2:]


def gif_with_comment_blocks(count: int) -> bytes:
    """A valid 8x8 GIF with `count` one-byte comment extensions (2 blocks each) up front."""
    gif = encode(Image.new("P", (8, 8)), "GIF")
    first_image = gif.index(b"\x2c")
    return gif[:first_image] + b"\x21\xfe\x01a\x00" * count + gif[first_image:]


def noise_rgb(side: int = 64, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))


def rotated_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("digit.png", encode(Image.new("L", (28, 28)), "PNG"))
    return buffer.getvalue()


def decoded(data: bytes, settings: Settings = SETTINGS) -> np.ndarray:
    img = decode_image(data, settings)
    assert img.mode == "L"
    return np.asarray(img)


def rejection(data: bytes, settings: Settings = SETTINGS) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data, settings)
    return caught.value


# ----------------------------------------------------------------------------- rejected inputs

PNG_50 = encode(Image.new("L", (50, 50), 128), "PNG")
JPEG_NOISE = encode(noise_rgb(), "JPEG")
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
    b'<script>alert(1)</script><rect width="28" height="28"/></svg>'
)

REJECTED = {
    # type decided by content: everything outside the allow-list is 415
    "random-bytes": (
        bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8)),
        415,
        "unsupported_media_type",
    ),
    "svg": (SVG, 415, "unsupported_media_type"),
    "svg-with-xml-prolog": (b'<?xml version="1.0"?>\n' + SVG, 415, "unsupported_media_type"),
    "pdf": (
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
        415,
        "unsupported_media_type",
    ),
    "eps": (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n",
        415,
        "unsupported_media_type",
    ),
    "tiff": (encode(Image.new("L", (16, 16)), "TIFF"), 415, "unsupported_media_type"),
    "html": (
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        415,
        "unsupported_media_type",
    ),
    "zip": (zip_bytes(), 415, "unsupported_media_type"),
    "gzip": (b"\x1f\x8b\x08\x00" + bytes(20), 415, "unsupported_media_type"),
    "ico": (encode(Image.new("RGB", (16, 16)), "ICO"), 415, "unsupported_media_type"),
    "ppm": (encode(Image.new("RGB", (16, 16)), "PPM"), 415, "unsupported_media_type"),
    "tga-has-no-magic": (encode(Image.new("RGB", (16, 16)), "TGA"), 415, "unsupported_media_type"),
    "polyglot-html-then-png": (
        b"<html><script>x()</script></html>" + PNG_50,
        415,
        "unsupported_media_type",
    ),
    "text-named-like-an-image": (b"GIF is my favourite format", 415, "unsupported_media_type"),
    "bmp-rle8-slow-decoder": (rle8_bmp(64, 64), 415, "unsupported_media_type"),
    # empty and broken files of allowed types are 422
    "empty": (b"", 422, "empty_image"),
    "png-signature-only": (PNG_50[:8], 422, "corrupt_image"),
    "png-truncated": (PNG_50[: len(PNG_50) // 2], 422, "corrupt_image"),
    "png-idat-not-zlib": (crafted_png(10, 10, b"definitely not zlib"), 422, "corrupt_image"),
    "png-zero-width": (crafted_png(0, 10, zlib.compress(b"")), 422, "corrupt_image"),
    "png-chunk-quoting-markup": (
        PNG_50[:33] + png_chunk(b"<sc>", b"alert(1)") + PNG_50[33:],
        422,
        "corrupt_image",
    ),
    "jpeg-soi-only": (b"\xff\xd8\xff", 422, "corrupt_image"),
    "jpeg-truncated": (JPEG_NOISE[: len(JPEG_NOISE) // 2], 422, "corrupt_image"),
    "gif-truncated": (encode(Image.new("P", (50, 50)), "GIF")[:40], 422, "corrupt_image"),
    "webp-truncated": (encode(noise_rgb(), "WEBP")[:60], 422, "corrupt_image"),
    "bmp-truncated": (encode(noise_rgb(), "BMP")[:300], 422, "corrupt_image"),
    # pixel bombs declared in headers are refused before decoding
    "png-bomb-100000x100000": (crafted_png(100_000, 100_000), 422, "image_too_large"),
    "png-20-megapixels": (crafted_png(5000, 4000), 422, "image_too_large"),
    "png-one-pixel-over-the-cap": (crafted_png(4097, 4096), 422, "image_too_large"),
    "gif-65535x65535": (gif_declaring(65535, 65535), 422, "image_too_large"),
    "bmp-60000x60000": (bmp_declaring(60000, 60000), 422, "image_too_large"),
    "jpeg-65500x65500": (jpeg_declaring(65500, 65500), 422, "image_too_large"),
    # containers with more parts than any image needs: parsed in Python, each costs CPU
    "png-10001-chunks": (png_with_private_chunks(MAX_PNG_CHUNKS - 2), 422, "image_too_complex"),
    "jpeg-101-scans": (jpeg_with_scans(MAX_JPEG_SCANS + 1), 422, "image_too_complex"),
    "jpeg-4097-segments": (jpeg_with_app_segments(MAX_JPEG_MARKERS), 422, "image_too_complex"),
    "jpeg-4mb-of-fill-bytes": (
        jpeg_with_header_filler(b"\xff", 4_000_000),
        422,
        "image_too_complex",
    ),
    "jpeg-2m-restart-markers-before-the-scan": (
        jpeg_with_header_filler(b"\xff\xd0", 2_000_000),
        422,
        "image_too_complex",
    ),
    "gif-10002-blocks": (
        gif_with_comment_blocks(MAX_GIF_BLOCKS // 2 + 1),
        422,
        "image_too_complex",
    ),
    # shapes that are not a digit
    "png-1x10000": (encode(Image.new("L", (1, 10000)), "PNG"), 422, "extreme_aspect_ratio"),
    "png-3x200": (encode(Image.new("L", (3, 200)), "PNG"), 422, "extreme_aspect_ratio"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_hostile_upload_is_rejected_with_exact_status_and_code(case):
    data, status, code = REJECTED[case]
    error = rejection(data)
    assert (error.status, error.code) == (status, code)
    assert error.message
    if code == "corrupt_image":  # a fixed sentence: decoder messages may quote the file
        assert re.fullmatch(
            r"the (PNG|JPEG|GIF|WebP|BMP|image) file is (truncated|corrupt); "
            r"it cannot be decoded",
            error.message,
        )


def test_unsupported_type_message_names_what_it_saw_and_the_allow_list():
    error = rejection(encode(Image.new("L", (8, 8)), "TIFF"))
    assert "TIFF" in error.message
    assert error.details["allowed"] == ["PNG", "JPEG", "GIF", "WebP", "BMP"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_with_private_chunks(MAX_PNG_CHUNKS - 3), id="png-10000-chunks"),
        pytest.param(jpeg_with_scans(MAX_JPEG_SCANS), id="jpeg-100-scans"),
        pytest.param(jpeg_with_app_segments(MAX_JPEG_MARKERS - 20), id="jpeg-4076-app-segments"),
        pytest.param(gif_with_comment_blocks(MAX_GIF_BLOCKS // 2 - 1), id="gif-9998-blocks"),
        pytest.param(jpeg_with_header_filler(b"\xff", MAX_JPEG_MARKERS - 20), id="jpeg-fill"),
    ],
)
def test_containers_at_their_structure_limits_still_decode(data):
    assert decoded(data).ndim == 2


def test_structure_error_names_the_limit():
    error = rejection(jpeg_with_scans(MAX_JPEG_SCANS + 1))
    assert error.details == {"limit": MAX_JPEG_SCANS}
    assert "100 scans" in error.message


def test_pixel_cap_error_names_the_size_and_the_limit():
    error = rejection(crafted_png(5000, 4000))
    assert error.details == {"width": 5000, "height": 4000, "max_pixels": 16_777_216}
    assert "16,777,216" in error.message


def test_pixel_cap_is_read_from_settings():
    small_cap = Settings(max_image_pixels=100)
    assert rejection(encode(Image.new("L", (11, 10)), "PNG"), small_cap).code == "image_too_large"
    assert decoded(encode(Image.new("L", (10, 10)), "PNG"), small_cap).shape == (10, 10)


def test_aspect_ratio_error_names_the_limit():
    error = rejection(encode(Image.new("L", (1, 10000)), "PNG"))
    assert error.details["max_aspect_ratio"] == SETTINGS.max_aspect_ratio
    assert "10000" in error.message


def test_zlib_bomb_at_exactly_the_cap_decodes_and_is_downscaled():
    # 4096 x 4096 = 16,777,216 pixels, the cap itself, from a ~16 KB file.
    data = zlib_bomb_png(4096)
    assert len(data) < 100_000
    gray = decoded(data)
    assert gray.shape == (WORKING_SIDE, WORKING_SIDE)
    assert gray.max() == 0


# ----------------------------------------------------------------------------- accepted oddities


def test_polyglot_png_with_zip_appended_decodes_as_the_png():
    assert (decoded(PNG_50 + zip_bytes()) == 128).all()


def test_one_pixel_image_decodes():
    assert decoded(encode(Image.new("L", (1, 1), 200), "PNG")).tolist() == [[200]]


def test_animated_gif_uses_its_first_frame_only():
    frames = [Image.new("L", (20, 20), 0), Image.new("L", (20, 20), 255)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert decoded(data).max() == 0


def test_cmyk_jpeg_keeps_white_paper_white_and_black_ink_black():
    white = decoded(encode(Image.new("CMYK", (20, 20), (0, 0, 0, 0)), "JPEG"))
    black = decoded(encode(Image.new("CMYK", (20, 20), (0, 0, 0, 255)), "JPEG"))
    assert white.min() >= 250 and black.max() <= 5


def test_16_bit_png_is_scaled_to_8_bits_not_clipped():
    samples = np.array([[0, 257 * 100, 32768, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(samples), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    assert decoded(data).tolist() == [[0, 100, 128, 255]]


def test_exif_orientation_is_applied():
    # Stored 40 wide x 20 high with its left quarter black; orientation 6 = "rotate 90 degrees
    # clockwise to display", so the upright image is 20 wide x 40 high, black on top.
    stored = Image.new("L", (40, 20), 255)
    stored.paste(0, (0, 0, 10, 20))
    gray = decoded(encode(stored, "JPEG", exif=rotated_exif(6), quality=95))
    assert gray.shape == (40, 20)
    assert gray[:8].max() < 40 and gray[12:].min() > 215


def test_corrupt_exif_is_ignored_not_fatal():
    data = encode(Image.new("RGB", (40, 20), "white"), "JPEG", exif=b"Exif\x00\x00II*\x00garbage")
    assert decoded(data).shape == (20, 40)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: encode(Image.new("P", (6, 6), 0), "PNG", transparency=0),
            id="png-palette-transparent",
        ),
        pytest.param(
            lambda: encode(Image.new("P", (6, 6), 0), "GIF", transparency=0), id="gif-transparent"
        ),
        pytest.param(lambda: encode(Image.new("LA", (6, 6), (0, 0)), "PNG"), id="png-la"),
        pytest.param(lambda: encode(Image.new("RGBA", (6, 6), (0, 0, 0, 0)), "PNG"), id="png-rgba"),
        pytest.param(
            lambda: encode(Image.new("L", (6, 6), 0), "PNG", transparency=0),
            id="png-gray-colour-key",
        ),
        pytest.param(
            lambda: encode(Image.new("RGB", (6, 6)), "PNG", transparency=(0, 0, 0)),
            id="png-rgb-colour-key",
        ),
        pytest.param(
            lambda: encode(Image.new("RGBA", (6, 6), (0, 0, 0, 0)), "WEBP", lossless=True),
            id="webp-rgba",
        ),
    ],
)
def test_transparent_black_pixels_are_composited_on_white_paper(make):
    assert (decoded(make()) == 255).all()


def test_half_transparent_black_becomes_mid_gray():
    gray = decoded(encode(Image.new("RGBA", (6, 6), (0, 0, 0, 128)), "PNG"))
    assert np.abs(gray.astype(int) - 127).max() <= 1


def test_one_bit_png_maps_to_0_and_255():
    img = Image.new("1", (8, 8), 0)
    img.paste(1, (0, 0, 4, 8))
    gray = decoded(encode(img, "PNG"))
    assert set(np.unique(gray)) == {0, 255}
    assert (gray[:, :4] == 255).all() and (gray[:, 4:] == 0).all()


@pytest.mark.parametrize(
    "fmt, options",
    [
        ("PNG", {}),
        ("JPEG", {"quality": 95}),
        ("JPEG", {"progressive": True, "quality": 95}),
        ("GIF", {}),
        ("WEBP", {"lossless": True}),
        ("BMP", {}),
    ],
    ids=["png", "jpeg", "jpeg-progressive", "gif", "webp", "bmp"],
)
def test_every_allowed_format_decodes_to_the_same_gray(fmt, options):
    img = Image.new("RGB", (30, 20), (255, 255, 255))
    img.paste((0, 0, 0), (10, 5, 20, 15))
    gray = decoded(encode(img, fmt, **options))
    assert gray.shape == (20, 30)
    assert gray[7:13, 12:18].max() < 10 and gray[:3].min() > 245


def test_large_jpeg_is_downscaled_to_the_working_size_keeping_aspect():
    gray = decoded(encode(Image.new("RGB", (3000, 2000), "white"), "JPEG"))
    assert gray.shape == (341, WORKING_SIDE)


# ----------------------------------------------------------------------------- drawn canvas

LIMIT = SETTINGS.max_canvas_side


@pytest.mark.parametrize(
    "pixels, reason",
    [
        pytest.param(float("nan"), "2-D", id="scalar"),
        pytest.param("0,0,0", "2-D", id="string"),
        pytest.param([], "rows", id="no-rows"),
        pytest.param([[]], "columns", id="empty-row"),
        pytest.param([1, 2, 3], "row 0", id="1-d"),
        pytest.param([[0, 0], [0]], "ragged", id="ragged"),
        pytest.param([[[0]], [[0]]], "2-D", id="3-d"),
        pytest.param([[0, float("nan")]], "NaN", id="nan"),
        pytest.param([[0, float("inf")]], "NaN and Infinity", id="infinity"),
        pytest.param([[0, -1]], "0..255", id="negative"),
        pytest.param([[0, 256]], "0..255", id="over-255"),
        pytest.param([[0, 1e308 * 10]], "Infinity", id="overflow"),
        pytest.param([[0, "12"]], "number", id="string-value"),
        pytest.param([[0, None]], "number", id="null"),
        pytest.param([[True, False]], "number", id="booleans"),
        pytest.param([[0, 2**80]], "number", id="huge-int"),
        pytest.param([[0] * (LIMIT + 1)], "columns", id="too-wide"),
        pytest.param([[0]] * (LIMIT + 1), "rows", id="too-tall"),
    ],
)
def test_bad_canvas_is_rejected_as_invalid_pixels_naming_the_reason(pixels, reason):
    with pytest.raises(ImageRejected) as caught:
        pixels_to_image(pixels, SETTINGS)
    assert (caught.value.status, caught.value.code) == (422, "invalid_pixels")
    assert reason in caught.value.message


def test_canvas_at_the_size_limit_is_accepted_and_rounded():
    pixels = [[0.4, 254.6] * (LIMIT // 2)] * LIMIT
    image = pixels_to_image(pixels, SETTINGS)
    assert image.dtype == np.uint8 and image.shape == (LIMIT, LIMIT)
    assert image[0, :2].tolist() == [0, 255]


def test_canvas_as_numpy_array_is_validated_too():
    with pytest.raises(ImageRejected):
        pixels_to_image(np.full((4, 4), np.nan), SETTINGS)
    assert pixels_to_image(np.full((4, 4), 7.0), SETTINGS).tolist() == [[7] * 4] * 4


def test_elongated_canvas_gets_the_aspect_ratio_error():
    with pytest.raises(ImageRejected) as caught:
        pixels_to_image([[0] * 1000], SETTINGS)
    assert caught.value.code == "extreme_aspect_ratio"


# ----------------------------------------------------------------------------- mutation fuzzing

SEEDS = {
    "png": encode(noise_rgb(24), "PNG"),
    "png-palette": encode(noise_rgb(24).convert("P"), "PNG", transparency=3),
    "png-16-bit": encode(
        Image.fromarray(np.arange(576, dtype=np.uint16).reshape(24, 24) * 99), "PNG"
    ),
    "jpeg": encode(noise_rgb(24), "JPEG"),
    "jpeg-progressive-exif": encode(noise_rgb(24), "JPEG", progressive=True, exif=rotated_exif(8)),
    "gif": encode(noise_rgb(24).convert("P"), "GIF"),
    "webp": encode(noise_rgb(24), "WEBP"),
    "webp-animated": animated_webp(24, 3),
    "webp-vp8x-exif": webp_with_exif(tiff_block(4), (24, 24)),
    "jpeg-exif-segments": jpeg_with_exif(tiff_block(40), (24, 24), piece=100),
    "bmp": encode(noise_rgb(24), "BMP"),
    "bmp-gray": encode(noise_rgb(24).convert("L"), "BMP"),
}


@given(
    seed=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 255), st.sampled_from(["set", "cut"])),
        min_size=1,
        max_size=6,
    ),
)
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_mutated_images_decode_or_are_rejected_never_crash(seed, edits):
    data = bytearray(SEEDS[seed])
    for position, value, kind in edits:
        if not data:
            break
        at = position % len(data)
        if kind == "set":
            data[at] = value
        else:
            del data[at:]
    try:
        gray = decode_image(bytes(data), SETTINGS)
    except ImageRejected as error:
        assert error.status in (415, 422) and error.code and error.message
    else:
        assert gray.mode == "L" and max(gray.size) <= WORKING_SIDE


# ----------------------------------------------------------------------------- EXIF bombs


@pytest.mark.parametrize(
    "make", [jpeg_with_exif, png_with_exif, webp_with_exif], ids=["jpeg", "png", "webp"]
)
def test_exif_with_a_million_rationals_is_ignored_so_orientation_is_not_applied(make):
    # The block says "rotate 90 degrees" (orientation 6); were it parsed, 40x20 would be 20x40.
    data = make(tiff_block(RATIONALS, orientation=6))
    assert len(data) > 9_000_000
    assert decoded(data).shape == (20, 40)


@pytest.mark.parametrize(
    "make", [jpeg_with_exif, png_with_exif, webp_with_exif], ids=["jpeg", "png", "webp"]
)
def test_exif_just_over_the_cap_is_ignored(make):
    tiff = tiff_block(MAX_EXIF_BYTES // 8, orientation=6)
    assert MAX_EXIF_BYTES < len(tiff) + 6 < MAX_EXIF_BYTES + 100
    assert decoded(make(tiff)).shape == (20, 40)


@pytest.mark.parametrize("make", [png_with_exif, webp_with_exif], ids=["png", "webp"])
def test_exif_under_the_cap_is_still_applied(make):
    tiff = tiff_block(MAX_EXIF_BYTES // 8 - 10, orientation=6)
    assert decoded(make(tiff)).shape == (40, 20)


def test_jpeg_exif_split_over_segments_under_the_cap_is_still_applied():
    tiff = tiff_block(6000, orientation=6)  # 48 KB in two APP1 segments: under the cap
    data = jpeg_with_exif(tiff, piece=30_000)
    assert data.count(b"Exif\x00\x00") == 2
    assert decoded(data).shape == (40, 20)


def test_jpeg_without_its_oversized_exif_keeps_every_other_segment():
    data = jpeg_with_exif(tiff_block(20_000))
    plain = encode(Image.new("L", (40, 20), 255), "JPEG")
    assert without_oversized_exif(data, "JPEG") == plain
    assert without_oversized_exif(plain, "JPEG") == plain


# ----------------------------------------------------------------------------- WebP bombs


def test_webp_whose_decoding_memory_would_far_exceed_the_pixel_cap_is_refused():
    data = lossless_webp(4096)  # 702 bytes; decoding it added 258 MB of RSS
    assert len(data) < 1000
    error = rejection(data)
    assert (error.status, error.code) == (422, "image_too_large")
    assert error.details["max_pixels"] == SETTINGS.max_image_pixels // 4
    assert "WebP" in error.message and "4,194,304" in error.message


def test_webp_at_its_memory_limit_decodes():
    assert decoded(lossless_webp(2048)).shape == (WORKING_SIDE, WORKING_SIDE)


def test_webp_memory_limit_follows_the_pixel_cap_setting():
    small_cap = Settings(max_image_pixels=400 * 400)
    assert rejection(lossless_webp(201), small_cap).code == "image_too_large"
    assert decoded(lossless_webp(200), small_cap).shape == (200, 200)


def test_animated_webp_uses_its_first_frame_only():
    data = animated_webp(64, 3)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    assert decoded(data).max() == 0


def test_animated_webp_with_large_frames_is_refused_from_its_header():
    error = rejection(animated_webp(4096, 3))
    assert (error.status, error.code) == (422, "image_too_large")


def test_webp_with_more_frames_than_any_image_needs_is_too_complex():
    error = rejection(webp_with_many_frames(MAX_WEBP_CHUNKS))
    assert (error.status, error.code) == (422, "image_too_complex")
    assert decoded(webp_with_many_frames(1000)).shape == (8, 8)


@pytest.mark.parametrize(
    "width, height, code",
    [
        (4096, 4096, "image_too_large"),
        (16384, 16384, "image_too_large"),
        (16384, 300, "image_too_large"),
    ],
)
def test_webp_bitstream_larger_than_its_canvas_is_refused_from_the_bitstream_header(
    width, height, code
):
    data = webp_whose_bitstream_outgrows_its_canvas(width, height)
    assert ("canvas", 16, 16) in webp_sizes(data)
    assert ("bitstream", width, height) in webp_sizes(data)
    assert rejection(data).code == code
