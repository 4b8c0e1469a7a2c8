"""Attachments and inline parts (pure): what a part is, and which parts SES and mail clients accept.

A part without a Content-ID is a regular attachment; a part with one is an inline part that the
HTML body shows through `cid:<content id>` (RFC 2392). The API checks `AttachmentMetadata` before
any content is fetched; the message builder takes `AttachmentContent`, whose bytes are at hand.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.core.errors import FieldViolation
from services.dispatch.base64_lines import Base64Lines

MAX_ATTACHMENTS = 50  # invoices, tickets and a newsletter's images need a handful; more belongs in one archive
MAX_FILENAME_CHARS = 255  # SES's limit (SES API v2 Attachment.FileName), and most file systems'
MAX_MEDIA_TYPE_CHARS = 255  # RFC 6838 4.2 allows 127 for each name; room for both and a parameter or two
MAX_CONTENT_ID_CHARS = 78  # SES's limit (SES API v2 Attachment.ContentId)

# "Amazon SES unsupported attachment types" (SES developer guide, mime-types.html): SES refuses a
# message that carries a file with one of these extensions.
SES_UNSUPPORTED_EXTENSIONS = frozenset(
    """
    ade adp app asp bas bat cer chm cmd com cpl crt csh der exe fxp gadget hlp hta inf ins isp its
    js jse ksh lib lnk mad maf mag mam maq mar mas mat mau mav maw mda mdb mde mdt mdw mdz msc msh
    msh1 msh2 mshxml msh1xml msh2xml msi msp mst ops pcd pif plg prf prg reg scf scr sct shb shs sys
    ps1 ps1xml ps2 ps2xml psc1 psc2 tmp url vb vbe vbs vps vsmacros vss vst vsw vxd ws wsc wsf wsh xnk
""".split()
)

# RFC 6838 4.2 restricted-name for type and subtype; RFC 2045 5.1 parameters (token = token or
# quoted-string; backslash escapes are not needed by any real parameter and are refused).
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_TOKEN = r"[!#$%&'*+.^_`{|}~0-9A-Za-z-]+"
_PARAMETER = rf' *; *({_TOKEN})=(?:{_TOKEN}|"[ !#-\[\]-~]*")'
_MEDIA_TYPE = re.compile(rf"({_NAME})/({_NAME})((?:{_PARAMETER})*)", re.ASCII)
_PARAMETER_NAMES = re.compile(_PARAMETER, re.ASCII)
# Multipart and message types may not be base64-encoded (RFC 2045 6.4, RFC 2046 5.2), and every
# part is base64 here.
_COMPOSITE_TYPES = ("multipart", "message")
# The part of RFC 5322 atext that needs no escaping in a cid: URL (RFC 2392, RFC 3986 pchar) nor in
# an HTML attribute: `cid:<content id>` in the HTML is then the Content-ID exactly as given.
_ID_ATOM = r"[A-Za-z0-9!$*+=_~-]+"
_CONTENT_ID = re.compile(rf"{_ID_ATOM}(?:\.{_ID_ATOM})*@{_ID_ATOM}(?:\.{_ID_ATOM})*", re.ASCII)
# Right-to-left overrides and their kin can make "invoice\u202efdp.exe" read as "invoiceexe.pdf".
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAK_CATEGORIES = ("Cc", "Zl", "Zp")  # C0, DEL, C1 (with NEL), line and paragraph separators


@dataclass(frozen=True)
class AttachmentMetadata:
    """A part described without its content: what the API checks before fetching anything."""

    filename: str
    media_type: str
    size: int  # bytes of content, before encoding
    content_id: str = ""  # set: an inline part, referenced from the HTML as cid:<content_id>

    @property
    def inline(self) -> bool:
        return bool(self.content_id)


@dataclass(frozen=True)
class AttachmentContent:
    """A part as the message builder takes it, its content already fetched."""

    filename: str
    media_type: str
    content: bytes = field(repr=False)
    content_id: str = ""
    # The content already as base64 lines, where the caller keeps them: content many emails share
    # is then encoded once, not for each message.
    encoded: Base64Lines | None = field(default=None, repr=False, compare=False)

    @property
    def inline(self) -> bool:
        return bool(self.content_id)

    @property
    def metadata(self) -> AttachmentMetadata:
        return AttachmentMetadata(self.filename, self.media_type, len(self.content), self.content_id)


@dataclass(frozen=True)
class SubmittedPart:
    """A part as a send request gives it: its bytes, or a reference to content uploaded before."""

    filename: str
    media_type: str
    content_id: str = ""
    content: bytes | None = field(default=None, repr=False)
    reference: str = ""


def attachment_violations(attachments: Sequence[AttachmentMetadata]) -> list[FieldViolation]:
    """Every problem at once, each naming its field (`attachments[i].filename`, ...)."""
    if len(attachments) > MAX_ATTACHMENTS:
        return [
            FieldViolation(
                "attachments",
                f"at most {MAX_ATTACHMENTS} attachments and inline parts per message; send more files as one archive",
            )
        ]
    violations = []
    first_index_of: dict[str, int] = {}
    for index, attachment in enumerate(attachments):
        prefix = f"attachments[{index}]"
        checks = [
            ("filename", filename_problem(attachment.filename)),
            ("media_type", media_type_problem(attachment.media_type)),
            ("size", "must not be negative" if attachment.size < 0 else None),
            ("content_id", content_id_problem(attachment.content_id)),
        ]
        violations += [FieldViolation(f"{prefix}.{name}", problem) for name, problem in checks if problem]
        key = attachment.content_id.lower()  # ids differing only in case would be one cid: to some clients
        if key and key in first_index_of:
            violations.append(
                FieldViolation(
                    f"{prefix}.content_id",
                    f"duplicates attachments[{first_index_of[key]}].content_id: "
                    "each inline part needs its own Content-ID",
                )
            )
        first_index_of.setdefault(key, index)
    return violations


def filename_problem(filename: str) -> str | None:
    if not filename:
        return "is required (the name the recipient sees, with its extension)"
    if len(filename) > MAX_FILENAME_CHARS:
        return f"must be at most {MAX_FILENAME_CHARS} characters"
    if any(unicodedata.category(ch) in _LINE_BREAK_CATEGORIES for ch in filename):
        return "must not contain line breaks or control characters (CR, LF, NUL, ...)"
    if any(unicodedata.category(ch) == "Cs" for ch in filename):
        return "must be valid Unicode (it holds an unpaired surrogate)"
    if any(ch in _BIDI_CONTROLS for ch in filename):
        return "must not contain bidirectional control characters: they can disguise the extension"
    if "/" in filename or "\\" in filename:
        return "must be a bare file name, without / or \\"
    if filename[0].isspace():
        return "must not start with a space: mail clients drop it"
    if filename[-1] == "." or filename[-1].isspace():
        return "must not end with a dot or a space: Windows drops them, which changes the extension"
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension in SES_UNSUPPORTED_EXTENSIONS:
        return f"SES does not accept .{extension} attachments (Amazon SES unsupported attachment types)"
    return None


def media_type_problem(media_type: str) -> str | None:
    if not media_type:
        return "is required (a media type such as application/pdf or image/png)"
    if len(media_type) > MAX_MEDIA_TYPE_CHARS:
        return f"must be at most {MAX_MEDIA_TYPE_CHARS} characters"
    match = _MEDIA_TYPE.fullmatch(media_type)
    if match is None:
        return (
            "must be type/subtype (RFC 6838), such as application/pdf, optionally with parameters "
            "such as text/calendar; method=REQUEST"
        )
    if match.group(1).lower() in _COMPOSITE_TYPES:
        return (
            f"{match.group(1).lower()}/* cannot be attached as a file (RFC 2045 forbids base64 for it); "
            "use application/octet-stream"
        )
    if any(
        name.lower() == "name" or name.lower().startswith("name*") for name in _PARAMETER_NAMES.findall(match.group(3))
    ):
        return "must not carry a name parameter: Postroom writes it from the filename"
    return None


def content_id_problem(content_id: str) -> str | None:
    if not content_id:
        return None
    if len(content_id) > MAX_CONTENT_ID_CHARS:
        return f"must be at most {MAX_CONTENT_ID_CHARS} characters"
    if not _CONTENT_ID.fullmatch(content_id):
        return (
            "must be an RFC 5322 message id without angle brackets, such as logo@example.com, of letters, "
            "digits and . ! $ * + = _ ~ - (the HTML then refers to it as cid:logo@example.com)"
        )
    return None
