"""Content-Encoding decoding that stops at a cap on the decoded size.

httpx decodes a body before the reader sees it and honours any stack of encodings, so a
few kilobytes of ``Content-Encoding: gzip, gzip`` can become gigabytes before a size cap
that counts decoded chunks gets a say. Here the raw bytes are decoded by hand, one
encoding at most, and zlib is never asked for more output than the cap leaves: memory
stays bounded by the cap whatever the compression ratio.
"""

from __future__ import annotations

import zlib

__all__ = ["ACCEPT_ENCODING", "BodyTooLarge", "BoundedDecoder", "UnsupportedEncoding"]

ACCEPT_ENCODING = "gzip, deflate"
_GZIP = {"gzip", "x-gzip"}
_DEFLATE = {"deflate"}
_IDENTITY = {"", "identity"}


class UnsupportedEncoding(ValueError):
    """The answer's Content-Encoding is stacked or not one jobbot decodes."""


class BodyTooLarge(ValueError):
    """The decoded body went over the cap."""


class BoundedDecoder:
    """Decodes one Content-Encoding (gzip, deflate or none), refusing output past ``limit``.

    Raises UnsupportedEncoding at construction for stacked (``gzip, gzip``) or unknown
    encodings, BodyTooLarge from ``feed`` as soon as more than ``limit`` bytes would be
    decoded, and ValueError for a corrupt compressed stream.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        parts = [p.strip().lower() for p in (content_encoding or "").split(",")]
        parts = [p for p in parts if p not in _IDENTITY]
        if len(parts) > 1:
            raise UnsupportedEncoding(
                f"stacked Content-Encoding {content_encoding!r:.80} is refused "
                "(one of gzip or deflate at most)"
            )
        self.encoding = parts[0] if parts else "identity"
        if self.encoding not in _GZIP | _DEFLATE | {"identity"}:
            raise UnsupportedEncoding(
                f"unsupported Content-Encoding {content_encoding!r:.80} "
                "(only gzip and deflate are decoded)"
            )
        self.limit = limit
        self.size = 0
        self._zlib: zlib._Decompress | None = None
        self._first = True
        self._head = b""
        if self.encoding in _GZIP:
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.encoding in _DEFLATE:
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)

    def _count(self, out: bytes) -> bytes:
        self.size += len(out)
        if self.size > self.limit:
            raise BodyTooLarge(f"decoded body is over the {self.limit}-byte cap")
        return out

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes of the next raw chunk."""
        if self._zlib is None:
            return self._count(data)
        if self._first and self.encoding in _DEFLATE:
            # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate:
            # the first two bytes tell which.
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head, self._first = self._head, b"", False
            cmf, flg = data[0], data[1]
            if cmf & 0x0F != 8 or (cmf * 256 + flg) % 31:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            # Never more than the cap allows (+1 to notice going over): an unread tail
            # stays compressed in unconsumed_tail, so memory is bounded by the cap.
            out = self._zlib.decompress(data, self.limit - self.size + 1)
        except zlib.error as error:
            raise ValueError(f"corrupt {self.encoding} body: {error}") from error
        return self._count(out)

    def flush(self) -> bytes:
        """Whatever the decoder still holds once the raw body has ended."""
        if self._zlib is None:
            return b""
        if self._head:  # a body of one byte: too short for either form
            raise ValueError(f"corrupt {self.encoding} body: {len(self._head)} byte")
        try:
            out = self._zlib.decompress(b"", self.limit - self.size + 1)
        except zlib.error as error:
            raise ValueError(f"corrupt {self.encoding} body: {error}") from error
        return self._count(out)
