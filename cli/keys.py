"""`travelhub keys`: the keys that encrypt OAuth tokens at rest."""

from __future__ import annotations

import typer

from accounts.key_rotation import rotate_stored_tokens
from agent.bootstrap import cipher_from
from agent.settings import SettingsError
from cli.support import fail, guarded, load_settings, owner_url
from db import migrate

keys_app = typer.Typer(help="The keys that encrypt OAuth tokens at rest.", no_args_is_help=True)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Encrypt every stored token again with the newest key (the first of TRAVELHUB_TOKEN_KEYS);
    then the older keys can be removed."""
    settings = load_settings()
    url = owner_url(settings)
    guarded(lambda: migrate.ensure_current(url))
    try:
        cipher = cipher_from(settings)
    except SettingsError as error:
        fail(str(error))
    done = guarded(lambda: rotate_stored_tokens(url, cipher))
    typer.echo(f"Re-encrypted {done.rotated} tokens with the newest key.")
    if done.unreadable:
        fail(
            f"{done.unreadable} tokens are opened by none of the configured keys; keep the key"
            " they were sealed with in TRAVELHUB_TOKEN_KEYS and run this again."
        )
