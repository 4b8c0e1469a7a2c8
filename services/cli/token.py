"""`postroom token new`: a fresh API token and the line that grants it accounts (only its digest)."""

from __future__ import annotations

import argparse

from services.core.access_tokens import new_token, token_entry
from services.core.settings import Settings


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("token", help="make an API token scoped to accounts")
    commands = parser.add_subparsers(dest="token_command", required=True)
    new = commands.add_parser("new", help="print a new token, and its POSTROOM_API_TOKENS line")
    new.add_argument("--accounts", default="", help="comma-separated accounts the token may act for (omit: all)")
    new.set_defaults(handler=handle_new)


def handle_new(args: argparse.Namespace, _settings: Settings) -> int:
    accounts = [account.strip() for account in args.accounts.split(",") if account.strip()]
    token = new_token()
    print(f"token (give it to the client; it is not stored): {token}")
    print(
        f"POSTROOM_API_TOKENS line (add it to the Secret's `tokens` or the token file): {token_entry(token, accounts)}"
    )
    return 0
