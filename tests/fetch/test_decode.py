"""The capped decoder on its own: exact cap, gzip members, chunk boundaries, odd codings."""

from __future__ import annotations

import gzip
import zlib

import pytest

from techwatch.fetch.decode import BodyTooLarge, CappedDecoder, EncodingRejected, content_coding

TEXT = b"<feed>" + b"entry " * 2000 + b"</feed>"


def decode(coding: str | None, body: bytes, cap: int = 1 << 20, chunk: int = 4096) -> bytes:
    decoder = CappedDecoder(coding, cap)
    out = b"".join(decoder.feed(body[i : i + chunk]) for i in range(0, len(body), chunk))
    return out + decoder.flush()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("gzip", gzip.compress(TEXT[:5000]) + gzip.compress(TEXT[5000:])),  # two members
        ("gzip", gzip.compress(TEXT) + b"\0\0\0junk"),  # trailing padding tolerated
        ("deflate", zlib.compress(TEXT)),
        ("deflate", zlib.compress(TEXT, wbits=-15)),
        (None, TEXT),
    ],
    ids=["gzip", "gzip-members", "gzip-trailer", "zlib", "raw-deflate", "identity"],
)
def test_bodies_decode_whatever_the_chunking(coding: str | None, body: bytes, chunk: int) -> None:
    assert decode(coding, body, chunk=chunk) == TEXT


@pytest.mark.parametrize("coding", ["gzip", None])
def test_the_cap_is_inclusive(coding: str | None) -> None:
    body = gzip.compress(TEXT) if coding else TEXT
    assert decode(coding, body, cap=len(TEXT)) == TEXT
    with pytest.raises(BodyTooLarge, match=r"body exceeds 0\.0 MiB cap"):
        decode(coding, body, cap=len(TEXT) - 1)


def test_many_small_bomb_members_are_capped_too() -> None:
    member = gzip.compress(bytes(1 << 20))
    with pytest.raises(BodyTooLarge):
        decode("gzip", member * 20, cap=5 << 20)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        (["identity"], None),
        (["gzip"], "gzip"),
        (["GZip "], "gzip"),
        (["x-gzip"], "gzip"),
        (["deflate"], "deflate"),
        (["identity, gzip"], "gzip"),
    ],
)
def test_content_coding(values: list[str], expected: str | None) -> None:
    assert content_coding(values) == expected


@pytest.mark.parametrize(
    "values",
    [["gzip, gzip"], ["gzip", "deflate"], ["br"], ["zstd"], ["compress"], ["gzip, br"]],
)
def test_content_coding_rejections(values: list[str]) -> None:
    with pytest.raises(EncodingRejected):
        content_coding(values)
