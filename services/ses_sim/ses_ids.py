"""SES-style ids: `0100018c2f0e3a5b-6f1d...-000000` (millisecond time in hex, a UUID, a suffix). Pure."""

from __future__ import annotations

import uuid
from datetime import datetime


def ses_message_id(moment: datetime, unique: uuid.UUID | None = None) -> str:
    milliseconds = int(moment.timestamp() * 1000)
    return f"0100{milliseconds:012x}-{unique or uuid.uuid4()}-000000"
