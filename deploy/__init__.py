"""The reference deployment: config templates and `python -m deploy.local`."""
