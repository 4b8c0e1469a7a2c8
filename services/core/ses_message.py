"""What Amazon SES takes in one message through its SMTP interface ("Service quotas in Amazon SES")."""

MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # the whole message, after encoding (attachments in base64)
