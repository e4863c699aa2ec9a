"""OAuth tokens encrypted at rest: Fernet keys from the environment, rotated with MultiFernet."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from agent.settings import Settings, SettingsError

log = logging.getLogger(__name__)


class TokenCipher:
    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernet = MultiFernet(
                [Fernet(key.strip().encode()) for key in keys if key.strip()]
            )
        except (ValueError, TypeError):
            raise SettingsError(
                "TRAVELHUB_TOKEN_KEYS must be Fernet keys (Fernet.generate_key()), comma-separated."
            ) from None

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, sealed: str) -> str | None:
        """The token, or None when no current key opens it."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def cipher_from(settings: Settings) -> TokenCipher:
    """The configured keys (newest first); in development, a key kept in the data folder."""
    if settings.token_encryption_keys is not None:
        return TokenCipher(settings.token_encryption_keys.get_secret_value().split(","))
    if settings.environment == "production":
        raise SettingsError("Production needs TRAVELHUB_TOKEN_KEYS to encrypt OAuth tokens.")
    path = Path(settings.data_dir) / "token.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
        log.info("made a development token key in %s", path)
    return TokenCipher([path.read_text()])
