"""The one holder of the running process's services, for Chainlit's handlers.

Chainlit calls module-level functions (app.py) and builds the data layer itself, so they cannot
be handed the services: the web app's lifespan (web/app.py) builds them with
`agent.bootstrap.build_services`, installs them here, and removes them at shutdown.
"""

from __future__ import annotations

from agent.bootstrap import Services

_current: Services | None = None


def install(services: Services | None) -> None:
    """Make `services` the running ones (None at shutdown)."""
    global _current
    _current = services


def services() -> Services:
    """The running services; a clear error outside `travelhub serve`."""
    if _current is None:
        raise RuntimeError("The services are not started: run the app with `travelhub serve`.")
    return _current
