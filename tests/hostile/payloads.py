"""Hostile payloads the harness sends: image bombs, animated and multi-frame images, noise to truncate."""

from __future__ import annotations

import functools
import io


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    """A solid red image of `size` as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, "red").save(buf, "PNG", optimize=True)
    return buf.getvalue()


def noise_png() -> bytes:
    """A 128 x 128 noise PNG (about 49 kB: truncating it cuts the pixel data)."""
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@functools.cache
def bomb() -> bytes:
    """A real PNG of 30000 x 30000 one-bit pixels (900 MP, 112 MB of pixel rows) in about 110 kB."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    side = 30_000
    row = b"\x00" * (1 + side // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row * 1000) for _ in range(side // 1000)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def animated(fmt: str) -> bytes:
    from PIL import Image

    frames = [Image.new("RGB", (64, 64), c) for c in ("red", "blue", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()
