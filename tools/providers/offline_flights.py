"""The offline flight inventory: plausible, deterministic flights between real airports."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from math import exp

from db.models.enums import Cabin
from tools.offers import FareConditions, FlightOffer, Journey, Segment
from tools.places import Airport, Gazetteer, distance_km
from tools.providers.offline_stock import MemorySeatStock, SeatStock, capacity_of, flight_key
from tools.providers.seeded import rng, token
from tools.queries import FlightQuery
from tools.rates import from_eur

# (IATA code, name, home country) of real carriers the inventory flies.
CARRIERS: tuple[tuple[str, str, str], ...] = (
    ("BA", "British Airways", "GB"), ("VS", "Virgin Atlantic", "GB"), ("U2", "easyJet", "GB"),
    ("AF", "Air France", "FR"), ("KL", "KLM", "NL"), ("LH", "Lufthansa", "DE"),
    ("IB", "Iberia", "ES"), ("VY", "Vueling", "ES"), ("TP", "TAP Air Portugal", "PT"),
    ("AZ", "ITA Airways", "IT"), ("LX", "Swiss", "CH"), ("OS", "Austrian", "AT"),
    ("SK", "SAS", "SE"), ("AY", "Finnair", "FI"), ("EI", "Aer Lingus", "IE"),
    ("FR", "Ryanair", "IE"), ("TK", "Turkish Airlines", "TR"), ("EK", "Emirates", "AE"),
    ("QR", "Qatar Airways", "QA"), ("AA", "American Airlines", "US"), ("DL", "Delta", "US"),
    ("UA", "United", "US"), ("B6", "JetBlue", "US"), ("AC", "Air Canada", "CA"),
    ("SQ", "Singapore Airlines", "SG"), ("CX", "Cathay Pacific", "HK"),
    ("JL", "Japan Airlines", "JP"),
    ("NH", "ANA", "JP"), ("QF", "Qantas", "AU"), ("LA", "LATAM", "BR"), ("AV", "Avianca", "CO"),
    ("ET", "Ethiopian Airlines", "ET"), ("AI", "Air India", "IN"), ("KE", "Korean Air", "KR"),
    ("CA", "Air China", "CN"), ("AM", "Aeromexico", "MX"), ("SA", "South African Airways", "ZA"),
)  # fmt: skip
BY_CODE = {code: (code, name, country) for code, name, country in CARRIERS}
# Connection hubs and the carrier based there.
HUBS: dict[str, str] = {
    "LHR": "BA", "CDG": "AF", "AMS": "KL", "FRA": "LH", "MUC": "LH", "MAD": "IB", "LIS": "TP",
    "ZRH": "LX", "VIE": "OS", "CPH": "SK", "HEL": "AY", "DUB": "EI", "IST": "TK", "DXB": "EK",
    "DOH": "QR", "JFK": "DL", "ATL": "DL", "ORD": "UA", "DFW": "AA", "YYZ": "AC", "SIN": "SQ",
    "HKG": "CX", "HND": "JL", "ICN": "KE", "PEK": "CA", "DEL": "AI", "ADD": "ET", "GRU": "LA",
    "BOG": "AV", "MEX": "AM", "JNB": "SA", "SYD": "QF",
}  # fmt: skip
CABIN_FACTOR = {
    Cabin.ECONOMY: 1.0, Cabin.PREMIUM_ECONOMY: 1.7, Cabin.BUSINESS: 3.6, Cabin.FIRST: 6.0,
}  # fmt: skip
OFFER_LIFETIME = timedelta(minutes=30)
MAX_DETOUR = 1.4
MIN_LEG_KM = 250
SHORT_HAUL_KM = 3000


def flight_minutes(km: float) -> int:
    """Block time: taxi and climb, then about 800 km/h, rounded to five minutes."""
    return int(round((35 + km / 13.3) / 5) * 5)


def seats_taken(query: FlightQuery) -> int:
    """Seats a party fills: infants travel on a lap."""
    return query.adults + query.children


def segments_of(offer: FlightOffer) -> list[Segment]:
    return [segment for journey in offer.journeys for segment in journey.segments]


class OfflineFlights:
    """A deterministic flight inventory: the same query always returns the same offers."""

    name = "offline"

    def __init__(
        self,
        gazetteer: Gazetteer,
        *,
        now: Callable[[], datetime],
        stock: SeatStock | None = None,
    ) -> None:
        """`stock`: where seats sold are counted; by default in this process only."""
        self._places = gazetteer
        self._now = now
        self.stock: SeatStock = stock if stock is not None else MemorySeatStock()

    async def search_flights(self, query: FlightQuery) -> list[FlightOffer]:
        outbound = list(self._journeys(query.origin, query.destination, query.departure_date))
        if query.return_date is None:
            pairs: list[tuple[Journey, ...]] = [(journey,) for journey in outbound]
        else:
            inbound = list(self._journeys(query.destination, query.origin, query.return_date))
            pairs = self._round_trips(outbound, inbound)
        return await self._on_sale([self._offer(query, journeys) for journeys in pairs], query)

    async def _on_sale(self, offers: list[FlightOffer], query: FlightQuery) -> list[FlightOffer]:
        """The offers whose every flight still has seats for the party. An offer's own figure
        is what its fare has left; it never says more than the aircraft has."""
        capacities = {flight_key(s): capacity_of(s) for o in offers for s in segments_of(o)}
        left = await self.stock.seats_left(capacities)
        party = seats_taken(query)
        kept = []
        for offer in offers:
            on_board = min(left[flight_key(segment)] for segment in segments_of(offer))
            if on_board < party:
                continue  # sold out, for this party at least
            if offer.seats_left is not None and offer.seats_left > on_board:
                offer = offer.model_copy(update={"seats_left": on_board})
            kept.append(offer)
        return kept

    def _journeys(self, origin: str, destination: str, day: date) -> Iterator[Journey]:
        for start, end in itertools.product(
            self._places.expand(origin), self._places.expand(destination)
        ):
            if start.code == end.code:
                continue
            yield from self._direct(start, end, day)
            yield from self._one_stop(start, end, day)

    def _carriers_for(self, start: Airport, end: Airport) -> list[tuple[str, str, str]]:
        local = [c for c in CARRIERS if c[2] in (start.country, end.country)]
        return local or [BY_CODE[HUBS[hub]] for hub in ("IST", "DXB", "FRA", "LHR")]

    def _direct(self, start: Airport, end: Airport, day: date) -> Iterator[Journey]:
        km = distance_km(start.latitude, start.longitude, end.latitude, end.longitude)
        dice = rng("direct", start.code, end.code, day)
        if km > 14000 or (km > SHORT_HAUL_KM and dice.random() < min(km / 15000, 0.75)):
            return  # long routes are rarely flown non-stop; short ones always are
        carriers = self._carriers_for(start, end)
        for _ in range(dice.randint(1, 3)):
            carrier = dice.choice(carriers)
            leaves = time(dice.randint(6, 21), dice.choice(range(0, 60, 5)))
            yield Journey.model_validate(
                {
                    "segments": [
                        self._segment(carrier, start, end, day, leaves, dice.randint(100, 9899))
                    ],
                    "duration_minutes": flight_minutes(km),
                }
            )

    def _one_stop(self, start: Airport, end: Airport, day: date) -> Iterator[Journey]:
        direct_km = distance_km(start.latitude, start.longitude, end.latitude, end.longitude)
        hubs = []
        for code, carrier_code in HUBS.items():
            hub = self._places.airports[code]
            if code in (start.code, end.code):
                continue
            near_start = distance_km(start.latitude, start.longitude, hub.latitude, hub.longitude)
            near_end = distance_km(hub.latitude, hub.longitude, end.latitude, end.longitude)
            if min(near_start, near_end) < MIN_LEG_KM:
                continue  # no connection to another airport of the same city
            legs = distance_km(
                start.latitude, start.longitude, hub.latitude, hub.longitude
            ) + distance_km(hub.latitude, hub.longitude, end.latitude, end.longitude)
            if legs < MAX_DETOUR * direct_km and direct_km > 300:
                hubs.append((legs, hub, carrier_code))
        dice = rng("via", start.code, end.code, day)
        for _legs, hub, carrier_code in sorted(hubs, key=lambda h: h[0])[:3]:
            carrier = BY_CODE[carrier_code]
            leaves = time(dice.randint(6, 20), dice.choice(range(0, 60, 5)))
            first = self._segment(carrier, start, hub, day, leaves, dice.randint(100, 9899))
            layover = timedelta(minutes=dice.choice(range(60, 200, 5)))
            onward_utc = first.arrival.astimezone(UTC) + layover
            onward_local = onward_utc.astimezone(hub.zone)
            second = self._segment(
                carrier, hub, end, onward_local.date(), onward_local.time(), dice.randint(100, 9899)
            )
            total = int((second.arrival - first.departure).total_seconds() // 60)
            yield Journey(segments=(first, second), duration_minutes=total)

    def _segment(
        self,
        carrier: tuple[str, str, str],
        start: Airport,
        end: Airport,
        day: date,
        leaves: time,
        number: int,
    ) -> Segment:
        km = distance_km(start.latitude, start.longitude, end.latitude, end.longitude)
        minutes = flight_minutes(km)
        departure = datetime.combine(day, leaves, tzinfo=start.zone)
        arrival = (departure.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(end.zone)
        return Segment(
            carrier_code=carrier[0],
            carrier_name=carrier[1],
            flight_number=f"{carrier[0]}{number}",
            origin=start.code,
            destination=end.code,
            departure=departure,
            arrival=arrival,
            duration_minutes=minutes,
            aircraft="Airbus A320neo" if km < 4000 else "Boeing 787-9",
        )

    @staticmethod
    def _round_trips(outbound: list[Journey], inbound: list[Journey]) -> list[tuple[Journey, ...]]:
        # Each outbound with the inbound of the same carrier when there is one, else the first.
        trips: list[tuple[Journey, ...]] = []
        for going in outbound:
            carrier = going.segments[0].carrier_code
            same = [j for j in inbound if j.segments[0].carrier_code == carrier]
            for coming in (same or inbound)[:2]:
                trips.append((going, coming))
        return trips

    def _offer(self, query: FlightQuery, journeys: tuple[Journey, ...]) -> FlightOffer:
        now = self._now()
        key = token(
            query.model_dump_json(),
            *(s.flight_number + s.departure.isoformat() for j in journeys for s in j.segments),
        )
        dice = rng("offer", key)
        price_eur = sum(self._fare_eur(journey, query, now) for journey in journeys)
        price_eur *= 0.8 + 0.4 * dice.random()
        total = from_eur(
            price_eur * (query.adults + 0.75 * query.children + 0.1 * query.infants), query.currency
        )
        premium = query.cabin in (Cabin.BUSINESS, Cabin.FIRST)
        refundable = premium or dice.random() < 0.3
        return FlightOffer(
            id=f"off_{key}",
            provider=self.name,
            journeys=journeys,
            cabin=query.cabin,
            passengers=query.passengers,
            total_price=total,
            currency=query.currency,
            # The fare's own seats; _on_sale caps them at what the aircraft has left.
            seats_left=dice.randint(max(1, seats_taken(query)), 9),
            conditions=FareConditions(
                refundable=refundable,
                change_fee=from_eur(0, query.currency)
                if premium
                else from_eur(dice.choice((50, 75, 100)), query.currency),
                cancellation_fee=from_eur(0 if premium else 40, query.currency)
                if refundable
                else None,
            ),
            expires_at=now + OFFER_LIFETIME,
        )

    @staticmethod
    def _fare_eur(journey: Journey, query: FlightQuery, now: datetime) -> float:
        km = sum(flight_minutes(1) and (s.duration_minutes - 35) * 13.3 for s in journey.segments)
        base = (45 + 0.085 * km) * CABIN_FACTOR[query.cabin]
        days_ahead = max((journey.departure.date() - now.date()).days, 0)
        late_booking = 1 + 0.9 * exp(-days_ahead / 10)
        weekday = {4: 1.15, 6: 1.12, 1: 0.9, 2: 0.9}.get(journey.departure.weekday(), 1.0)
        stops = 0.85 if journey.stops else 1.0
        return base * late_booking * weekday * stops
