"""The running process's services, built by the web app's lifespan and read by the UI."""

from __future__ import annotations

from agent.bootstrap import Services

_current: Services | None = None


def install(services: Services | None) -> None:
    global _current
    _current = services


def services() -> Services:
    if _current is None:
        raise RuntimeError("The services are not started: run the app with `travelhub serve`.")
    return _current
