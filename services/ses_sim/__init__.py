"""A local stand-in for Amazon SES: SMTP interface, account API, mailbox simulator and SNS feedback."""
