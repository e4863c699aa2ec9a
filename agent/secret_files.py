"""Development secrets kept on disk (the token key, Chainlit's session secret): readable by
their owner only from the first byte, and one secret however many processes start at once."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def kept_secret(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """(the secret in `path`, whether it was made now by `make`). A new one is written to a
    private (0600) file beside it and linked into place, so nobody reads it half-written or
    before its mode is set, and a process that loses the race reads the winner's."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            return path.read_text().strip(), False
    finally:
        os.unlink(draft)
    return path.read_text().strip(), True
