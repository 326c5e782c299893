#!/usr/bin/env python3
"""Decodes a PNG with Python's own zlib (independently of partctl's encoder) and prints
'WIDTH HEIGHT NONBLACK DIGEST': the count of pixels that are not black and a digest of the pixels.
Checks the signature, every chunk's CRC and the zlib stream; 8-bit RGB or RGBA, no interlace."""
import hashlib, struct, sys, zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
    assert zlib.crc32(kind + body) & 0xffffffff == crc, "bad CRC in %r" % kind
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
    if kind == b"IEND":
        break
width, height, depth, colour, _, _, interlace = header
assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG layout %r" % (header,)
bpp = 3 if colour == 2 else 4
raw = zlib.decompress(idat)
stride = width * bpp
assert len(raw) == (stride + 1) * height, "wrong amount of image data"
previous = bytearray(stride)
pixels = bytearray()
for row in range(height):
    kind = raw[row * (stride + 1)]
    line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = previous[i]
        c = previous[i - bpp] if i >= bpp else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else: assert kind == 0, "bad filter %d" % kind
    pixels += line
    previous = line
nonblack = sum(1 for i in range(0, len(pixels), bpp) if any(pixels[i:i + 3]))
print(width, height, nonblack, hashlib.sha256(bytes(pixels)).hexdigest()[:16])
