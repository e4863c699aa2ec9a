"""Reading vendors' JSON: the pieces every real provider adapter needs alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import airportsdata
from pydantic import BaseModel, ConfigDict, ValidationError


class VendorModel(BaseModel):
    """A vendor object: fields we do not use are ignored, never an error."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def load_airport_time_zones() -> dict[str, str]:
    """IATA code -> IANA time zone, for vendors that give local times without one."""
    return {code: airport["tz"] for code, airport in airportsdata.load("IATA").items()}


def minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


def aware_utc(moment: datetime) -> datetime:
    """A vendor timestamp without an offset is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def reason(exc: Exception) -> str:
    """Why a vendor object could not be read, for a log line (never its content)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{exc.error_count()} invalid fields, first {where}: {first['msg']}"
    return str(exc)
