"""The offline hotel inventory: plausible, deterministic hotels in any city of the gazetteer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import cos, radians

from db.models.enums import Board
from tools.errors import InvalidSearch
from tools.money import quantize
from tools.offers import HotelOffer
from tools.places import Gazetteer, Place, distance_km
from tools.providers.seeded import rng, token
from tools.queries import HotelQuery
from tools.rates import from_eur

PREFIXES = ("Hotel", "Grand Hotel", "The", "Casa", "Residence", "Maison", "Park Inn")
NAMES = (
    "Aurora", "Belvedere", "Central", "Continental", "Crown", "Harbour", "Imperial", "Lumen",
    "Meridian", "Old Town", "Palace", "Riverside", "Royal", "Station", "Terrace", "Vista",
)  # fmt: skip
STREETS = (
    "Market Street",
    "Station Road",
    "High Street",
    "Park Avenue",
    "Harbour Lane",
    "Cathedral Square",
    "River Walk",
    "King's Road",
    "Garden Row",
    "Old Mill Lane",
)
ROOMS = (
    ("Standard Double", 1.0), ("Superior Double", 1.25), ("Deluxe King", 1.55),
    ("Junior Suite", 2.1), ("Family Room", 1.7),
)  # fmt: skip
BOARD_SURCHARGE_EUR = {
    Board.ROOM_ONLY: 0, Board.BREAKFAST: 18, Board.HALF_BOARD: 45,
    Board.FULL_BOARD: 70, Board.ALL_INCLUSIVE: 110,
}  # fmt: skip
STAR_BASE_EUR = {2: 55, 3: 85, 4: 140, 5: 260}
OFFER_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class _Hotel:
    id: str
    name: str
    stars: int
    address: str
    latitude: float
    longitude: float
    distance_km: float
    price_factor: float


class OfflineHotels:
    """A deterministic hotel inventory: the same query always returns the same offers."""

    name = "offline"

    def __init__(self, gazetteer: Gazetteer, *, now: Callable[[], datetime]) -> None:
        self._places = gazetteer
        self._now = now

    def _place(self, query: HotelQuery) -> tuple[Place, float, float]:
        if query.city_code is not None:
            if query.city_code in self._places.cities:
                place = self._places.cities[query.city_code]
            else:
                airport = self._places.airport(query.city_code)
                place = Place(airport.code, airport.city, (airport,))
            return place, place.latitude, place.longitude
        lat, lon = query.latitude or 0.0, query.longitude or 0.0  # a point, by validation
        nearest = min(
            self._places.airports.values(),
            key=lambda a: distance_km(lat, lon, a.latitude, a.longitude),
        )
        if distance_km(lat, lon, nearest.latitude, nearest.longitude) > 150:
            raise InvalidSearch("I know no city within 150 km of that point.")
        return Place(nearest.code, nearest.city, (nearest,)), lat, lon

    async def search_hotels(self, query: HotelQuery) -> list[HotelOffer]:
        place, centre_lat, centre_lon = self._place(query)
        city_dice = rng("city", place.code)
        cost_index = 0.7 + 0.8 * city_dice.random()
        offers: list[HotelOffer] = []
        for number in range(city_dice.randint(8, 14)):
            hotel = rng("hotel", place.code, number)
            distance = round(0.2 + hotel.random() * (query.radius_km - 0.2), 1)
            if distance > query.radius_km:
                continue
            bearing = hotel.random() * 6.283
            lat = centre_lat + (distance / 111.0) * cos(bearing)
            lon = centre_lon + (distance / (111.0 * max(cos(radians(centre_lat)), 0.1))) * (
                1 - cos(bearing) ** 2
            ) ** 0.5 * (1 if bearing < 3.1416 else -1)
            stars = hotel.choices((2, 3, 4, 5), weights=(2, 4, 4, 1))[0]
            found = _Hotel(
                id=f"{place.code}{number:03d}",
                name=f"{hotel.choice(PREFIXES)} {hotel.choice(NAMES)} {place.name}",
                stars=stars,
                address=f"{hotel.randint(1, 240)} {hotel.choice(STREETS)}, {place.name}",
                latitude=round(lat, 5),
                longitude=round(lon, 5),
                distance_km=distance,
                # Closer to the centre costs more; each hotel has its own pricing.
                price_factor=cost_index * (0.85 + 0.35 * hotel.random()) * (1.15 - distance / 50),
            )
            for room, room_factor in self._rooms(hotel.random(), query):
                board = hotel.choice(list(Board)[: 2 + stars // 2])
                refundable = hotel.random() < 0.6
                offers.append(
                    self._offer(query, place, found, room, room_factor, board, refundable)
                )
        return offers

    @staticmethod
    def _rooms(roll: float, query: HotelQuery) -> list[tuple[str, float]]:
        per_room = -(-query.guests // query.rooms)
        if per_room > 2:
            return [r for r in ROOMS if r[0] in ("Family Room", "Junior Suite")]
        count = 1 + int(roll * 3)
        return [r for r in ROOMS if r[0] != "Family Room"][:count]

    def _offer(
        self,
        query: HotelQuery,
        place: Place,
        hotel: _Hotel,
        room: str,
        room_factor: float,
        board: Board,
        refundable: bool,
    ) -> HotelOffer:
        factor = hotel.price_factor * room_factor
        stars = hotel.stars
        nights = [query.check_in + timedelta(days=n) for n in range(query.nights)]
        total_eur = sum(self._night_eur(stars, factor, night, query) for night in nights)
        total_eur += BOARD_SURCHARGE_EUR[board] * query.guests * query.nights
        if refundable:
            total_eur *= 1.1  # a flexible rate costs more
        total = from_eur(total_eur, query.currency)
        nightly = quantize(total / query.nights, query.currency)
        zone = place.airports[0].zone
        deadline = datetime.combine(query.check_in - timedelta(days=2), time(18, 0), tzinfo=zone)
        offer_key = token(query.model_dump_json(), hotel.id, room, board, refundable)
        return HotelOffer(
            id=f"hot_{offer_key}",
            provider=self.name,
            hotel_id=hotel.id,
            name=hotel.name,
            stars=hotel.stars,
            address=hotel.address,
            city=place.name,
            latitude=hotel.latitude,
            longitude=hotel.longitude,
            distance_km=hotel.distance_km,
            room_type=room,
            board=board,
            check_in=query.check_in,
            check_out=query.check_out,
            rooms=query.rooms,
            guests=query.guests,
            nightly_price=nightly,
            total_price=total,
            currency=query.currency,
            free_cancellation_until=deadline if refundable else None,
            expires_at=self._now() + OFFER_LIFETIME,
        )

    @staticmethod
    def _night_eur(stars: int, factor: float, night: date, query: HotelQuery) -> float:
        weekend = 1.2 if night.weekday() in (4, 5) else 1.0
        return STAR_BASE_EUR[stars] * factor * weekend * query.rooms
