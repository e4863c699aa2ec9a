"""OAuth tokens encrypted at rest: Fernet keys from the environment, rotated with MultiFernet."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class InvalidTokenKeys(ValueError):
    """A configured key is not a Fernet key."""


class TokenCipher:
    """Encrypts and decrypts OAuth tokens with the newest key; any listed key still opens."""

    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernet = MultiFernet(
                [Fernet(key.strip().encode()) for key in keys if key.strip()]
            )
        except (ValueError, TypeError):
            raise InvalidTokenKeys(
                "TRAVELHUB_TOKEN_KEYS must be Fernet keys (Fernet.generate_key()), comma-separated."
            ) from None

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def rotate(self, sealed: str) -> str | None:
        """`sealed` encrypted again with the newest key, or None when no current key opens it."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            return None

    def decrypt(self, sealed: str) -> str | None:
        """The token, or None when no current key opens it."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
