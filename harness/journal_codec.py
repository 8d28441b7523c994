"""How a journal is stored: plain JSON lines, or the same lines compressed with zstd or gzip.

At high rates a journal is written compressed (measured in docs/performance.md: zstd level 1 stores
about a twelfth of the bytes at well under a microsecond of CPU per event, better and cheaper than
gzip). Every flush ends a compressed block, so a run killed with SIGKILL leaves a file that decodes up
to its last flush, as a plain journal does. Readers tell the form by the file's first bytes, not its
name.
"""
from __future__ import annotations

import zlib
from typing import BinaryIO, Iterator, Protocol

import zstandard

CODECS = ("plain", "zstd", "gzip")
# `auto`: a run expected to journal this many events a second or more is written with zstd.
COMPRESS_FROM_EVENTS_PER_S = 1000.0
SUFFIXES = {"plain": "", "zstd": ".zst", "gzip": ".gz"}
ZSTD_LEVEL = 1
GZIP_LEVEL = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


class Encoder(Protocol):
    def encode(self, data: bytes) -> bytes:
        """Data made decodable up to here (a block ends: costs a little ratio, buys crash safety)."""

    def finish(self) -> bytes:
        """The end of the stream."""


class _Plain:
    def encode(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


class _Zstd:
    def __init__(self) -> None:
        self._c = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()

    def encode(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def finish(self) -> bytes:
        return self._c.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class _Gzip:
    def __init__(self) -> None:
        self._c = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: the gzip container

    def encode(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._c.flush(zlib.Z_FINISH)


def choose(codec: str, events_per_s: float) -> str:
    """The codec to write with: `codec` itself, or for `auto` zstd at high rates and plain below."""
    if codec != "auto":
        return codec
    return "zstd" if events_per_s >= COMPRESS_FROM_EVENTS_PER_S else "plain"


def encoder(codec: str) -> Encoder:
    """An encoder for one of CODECS."""
    return {"plain": _Plain, "zstd": _Zstd, "gzip": _Gzip}[codec]()


def codec_of(head: bytes) -> str:
    """The codec a file was written with, from its first bytes."""
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    return "plain"


def decoded_chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The file's content decoded, in chunks; a compressed stream cut short (a killed writer) yields
    what was decodable and ends there, like a plain file's truncated last line."""
    head = handle.read(4)
    codec = codec_of(head)
    handle.seek(0)
    if codec == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True)
        while chunk := reader.read(_CHUNK):
            yield chunk
    elif codec == "gzip":
        d = zlib.decompressobj(31)  # wbits 31: the gzip container
        while raw := handle.read(_CHUNK):
            while raw:
                if d.eof:  # concatenated gzip members: each one in a new decompressor
                    d = zlib.decompressobj(31)
                yield d.decompress(raw)
                raw = d.unused_data
    else:
        while chunk := handle.read(_CHUNK):
            yield chunk


def lines(handle: BinaryIO, max_chars: int) -> Iterator[str]:
    """The file's lines decoded as UTF-8 (undecodable bytes replaced), without their newlines. A line
    still unfinished after `max_chars` bytes is yielded as it is, longer than `max_chars`, and reading
    stops there: a file with no newline (/dev/zero) stays bounded in memory; the caller refuses it."""
    rest = b""
    for chunk in decoded_chunks(handle):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for part in parts:
            yield part.decode("utf-8", "replace")
        if len(rest) > max_chars:
            yield rest.decode("utf-8", "replace")
            return
    if rest:
        yield rest.decode("utf-8", "replace")
