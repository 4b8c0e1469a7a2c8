"""Content as a message carries an attachment: base64 in lines of 76 characters, each ending in
CRLF (RFC 2045 6.8).

A value of its own type because it is safe on the SMTP wire as it is: its line ends are CRLF and
it holds no period, so DATA's dot-stuffing need not look through it (about 8 ms of a send, for a
1 MB attachment); it checks so when made. Encoding takes about 5 ms for 1 MB: content that many
emails share is encoded once, while any email in hand holds it, and small content after that
(email_content.EmailContent).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass


# Compared by identity (eq=False): it is shared by reference while emails hold it, and hashing
# megabytes to look it up would cost more than the lookup saves.
@dataclass(frozen=True, slots=True, weakref_slot=True, eq=False)
class Base64Lines:
    data: bytes

    def __post_init__(self) -> None:
        # What SMTP trusts it for, checked in C (about 2 ms for 1.4 MB, once per content shared).
        crlf = self.data.count(b"\r\n")
        if b"." in self.data or self.data.count(b"\r") != crlf or self.data.count(b"\n") != crlf:
            raise ValueError("not base64 lines: a period, or a line end other than CRLF")

    def __len__(self) -> int:
        return len(self.data)


_BLOCK_BYTES = 57 * 1024  # 1,024 lines of 57 bytes each


def base64_lines(content: bytes) -> Base64Lines:
    """encodebytes writes the lines (LF-ended) and a replace makes their ends CRLF, a block at a
    time: encodebytes keeps a bytes object per line until it joins them, 110,000 of them (12 MB)
    for 6 MB of content at once."""
    view = memoryview(content)
    blocks = [
        base64.encodebytes(view[start : start + _BLOCK_BYTES]).replace(b"\n", b"\r\n")
        for start in range(0, len(view), _BLOCK_BYTES)
    ]
    return Base64Lines(b"".join(blocks))


def base64_lines_size(size: int) -> int:
    """len(base64_lines(content).data) for `size` bytes of content."""
    characters = (size + 2) // 3 * 4
    return characters + 2 * ((characters + 75) // 76)
