import json
import logging

from services.core.log import JsonFormatter, register_secret


def format_record(message: str, *args, **extra) -> dict:
    record = logging.LogRecord("test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter("config").format(record))


def test_one_json_object_per_line_with_extra_fields():
    entry = format_record("provider saved %s", "p1", provider_id="p1")
    assert entry["msg"] == "provider saved p1" and entry["provider_id"] == "p1"
    assert entry["service"] == "config" and entry["level"] == "info"


def test_registered_secrets_are_masked_wherever_they_appear():
    register_secret("s3cr3t-password-value")
    entry = format_record("oops %s", "s3cr3t-password-value", detail="also s3cr3t-password-value here")
    assert "s3cr3t-password-value" not in json.dumps(entry)
