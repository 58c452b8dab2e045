"""Content-Encoding decoding with a hard cap on the decoded size.

The HTTP transport hands us raw bytes (aiohttp's auto_decompress is off), so this module is the only
place where compressed bodies grow. Decoding is incremental with `max_length`, so a gzip bomb
(200 KiB -> 200 MiB) costs at most the cap in memory before it is stopped (RELIABILITY 3).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

# We only advertise these (Accept-Encoding: gzip, deflate), so only these are accepted back.
SUPPORTED = frozenset({"gzip", "deflate"})
_ALIASES = {"x-gzip": "gzip"}
_GZIP_MAGIC = b"\x1f\x8b"


class EncodingRejected(ValueError):
    """The body is encoded in a way we do not decode: stacked, unknown or corrupt."""


class BodyTooLarge(ValueError):
    """The body, raw or decoded, passed the size cap."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"body exceeds {cap / 2**20:.1f} MiB cap")
        self.cap = cap


def content_coding(header_values: Iterable[str]) -> str | None:
    """The single coding named by the Content-Encoding header(s), None for identity.

    More than one non-identity coding is refused outright (RELIABILITY 4): no feed server needs
    `gzip, gzip`, and each layer multiplies the expansion a bomb can reach.
    """
    codings = [
        _ALIASES.get(c, c)
        for value in header_values
        for c in (part.strip().lower() for part in value.split(","))
        if c and c != "identity"
    ]
    if len(codings) > 1:
        raise EncodingRejected(f"stacked content encodings: {', '.join(codings)}")
    if not codings:
        return None
    if codings[0] not in SUPPORTED:
        raise EncodingRejected(f"unsupported content encoding {codings[0]!r}")
    return codings[0]


class CappedDecoder:
    """Decode a body chunk by chunk; raise BodyTooLarge once the output passes `cap` bytes."""

    def __init__(self, coding: str | None, cap: int) -> None:
        self._coding = coding
        self._cap = cap
        self._produced = 0
        self._inflater: zlib._Decompress | None = None
        self._ended = False  # a stream (gzip member) has ended; more input must be a new one
        self._finished = False  # nothing more will be decoded; later input is ignored
        self._head = b""  # the first byte of a deflate body, until the second arrives

    def feed(self, chunk: bytes) -> bytes:
        if self._coding is None:
            self._count(len(chunk))
            return chunk
        out = bytearray()
        data = self._take_head(chunk)
        if self._ended and self._inflater is None:
            data = self._after_end(data)
        while data and not self._finished:
            inflater = self._inflater or self._start(data)
            try:
                # max_length stops inflation one byte past the cap: memory stays bounded.
                piece = inflater.decompress(data, self._cap - self._produced + 1)
            except zlib.error as e:
                raise EncodingRejected(f"corrupt {self._coding} body") from e
            self._count(len(piece))
            out += piece
            data = b""
            if inflater.eof:
                data = self._after_end(inflater.unused_data)
        return bytes(out)

    def flush(self) -> bytes:
        """Whatever the inflater still holds; a truncated stream keeps what was decoded."""
        if self._head:
            raise EncodingRejected(f"corrupt {self._coding} body")  # one byte is no stream
        if self._inflater is None:
            return b""
        try:
            piece = self._inflater.flush()
        except zlib.error as e:
            raise EncodingRejected(f"corrupt {self._coding} body") from e
        self._count(len(piece))
        return piece

    def _take_head(self, chunk: bytes) -> bytes:
        """Hold back a deflate body until its first two bytes tell zlib from raw deflate."""
        if self._coding != "deflate" or self._inflater is not None or self._ended:
            return chunk
        self._head += chunk
        if len(self._head) < 2:
            return b""
        data, self._head = self._head, b""
        return data

    def _after_end(self, rest: bytes) -> bytes:
        """Input left after a finished stream: another gzip member, or trailing junk to ignore.

        Concatenated gzip members are legal (RFC 1952); anything else after the end is tolerated
        as browsers do, rather than failing a feed over padding. A member may start in the next
        chunk, so an empty rest decides nothing yet.
        """
        self._inflater = None
        self._ended = True
        if rest and not (self._coding == "gzip" and _GZIP_MAGIC.startswith(rest[:2])):
            self._finished = True
            return b""
        return rest

    def _start(self, data: bytes) -> zlib._Decompress:
        self._inflater = zlib.decompressobj(self._wbits(data))
        return self._inflater

    def _wbits(self, data: bytes) -> int:
        if self._coding == "gzip":
            return 16 + zlib.MAX_WBITS
        # "deflate" should be zlib-wrapped (RFC 9110) but some servers send raw deflate.
        looks_zlib = (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.MAX_WBITS if looks_zlib else -zlib.MAX_WBITS

    def _count(self, n: int) -> None:
        self._produced += n
        if self._produced > self._cap:
            raise BodyTooLarge(self._cap)
