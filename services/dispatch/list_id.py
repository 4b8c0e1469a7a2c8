"""The List-Id header (RFC 2919): which list a message belongs to, as mailbox providers ask.

Gmail's bulk-sender rules look for it, and SpamAssassin marks list mail without it
(LIST_PARTIAL_SHORT_MSG). Mail sent with a `list_id` names that list within the account; other
non-transactional mail gets the account's own list; transactional mail (a receipt, a password
reset) belongs to no list and carries none.
"""

from __future__ import annotations

import re

from services.core.email_address import domain_of
from services.dispatch.domain import EmailRequest

LIST_ID_HEADER = "List-Id"
_NOT_A_LABEL = re.compile(r"[^a-z0-9-]+")


def list_id_value(request: EmailRequest, from_address: str) -> str | None:
    """`<list.account.sender-domain>`: RFC 2919 wants a dot-atom under a namespace the sender owns,
    and the From domain is the one Postroom knows the sender holds (SES verified it)."""
    if request.transactional and not request.list_id:
        return None
    namespace = (domain_of(from_address) or "postroom.invalid").lower()
    labels = [_label(part) for part in request.list_id.split(".")] + [_label(request.account_id)]
    return "<" + ".".join([label for label in labels if label] + [namespace]) + ">"


def _label(text: str) -> str:
    """A dot-atom's atom from any id: lower case, letters, digits and '-' only."""
    return _NOT_A_LABEL.sub("-", text.lower()).strip("-")
