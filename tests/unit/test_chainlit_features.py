"""The Chainlit features the app switches on are the ones it serves; the rest stay off."""

from __future__ import annotations

from chainlit.config import config


def test_file_upload_is_off_while_no_feature_reads_the_files() -> None:
    # Chainlit reads .chainlit/config.toml from the working directory: the repository's root.
    assert config.features.spontaneous_file_upload is not None
    assert config.features.spontaneous_file_upload.enabled is False


def test_the_shipped_config_lets_no_other_site_in() -> None:
    # TRAVELHUB_ALLOWED_ORIGINS adds origins at start-up (web/origins.py); the file adds none.
    assert config.project.allow_origins == []
