"""A local stand-in for Duffel's order desk: offers priced again, orders placed, listed, looked up
and cancelled, each answer built from Duffel's own recorded payloads. Its orders live in this
process, so they outlast an app process killed in the middle of a booking."""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "duffel"


def recorded(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


class DuffelOrderDesk:
    """Duffel's `/air/offers/{id}`, `/air/orders` and `/air/order_cancellations`, over HTTP."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        """Order id -> the order as Duffel would return it (metadata and cancelled_at kept)."""
        self._lock = threading.Lock()
        self._offer = recorded("python/get-offer-by-id.json")
        self._search = recorded("python/create-offer-request.json")
        desk = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                desk.answer(self, None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                desk.answer(self, json.loads(body) if body else None)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def live(self) -> list[dict[str, Any]]:
        with self._lock:
            return [o for o in self.orders.values() if o["cancelled_at"] is None]

    def answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        url = urlsplit(handler.path)
        parts = url.path.strip("/").split("/")
        with self._lock:
            status, reply = self._route(handler.command, parts, parse_qs(url.query), body)
        content = json.dumps(reply).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    def _route(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        match method, parts:
            case "POST", ["air", "offer_requests"]:
                return HTTPStatus.CREATED, self._search
            case "GET", ["air", "offers", _offer_id]:
                return HTTPStatus.OK, self._offer
            case "POST", ["air", "orders"]:
                return HTTPStatus.CREATED, {"data": self._place(body["data"])}
            case "GET", ["air", "orders"]:
                return HTTPStatus.OK, self._page(query)
            case "GET", ["air", "orders", order_id] if order_id in self.orders:
                return HTTPStatus.OK, {"data": self.orders[order_id]}
            case "POST", ["air", "order_cancellations"]:
                order_id = body["data"]["order_id"]
                if order_id not in self.orders:
                    return HTTPStatus.NOT_FOUND, recorded("java/exceptions/404_not_found.json")
                cancellation = recorded("java/order_cancellation.json")
                cancellation["data"] |= {"id": f"ore_{order_id}", "order_id": order_id}
                return HTTPStatus.CREATED, cancellation
            case "POST", ["air", "order_cancellations", cancellation_id, "actions", "confirm"]:
                order_id = cancellation_id.removeprefix("ore_")
                self.orders[order_id]["cancelled_at"] = "2020-01-17T10:35:00Z"
                confirmed = recorded("java/order_cancellation_confirmed.json")
                confirmed["data"] |= {"id": cancellation_id, "order_id": order_id}
                return HTTPStatus.OK, confirmed
        return HTTPStatus.NOT_FOUND, recorded("java/exceptions/404_not_found.json")

    def _place(self, request: dict[str, Any]) -> dict[str, Any]:
        order = recorded("java/order.json")["data"]
        order_id = f"ord_stub{len(self.orders):06d}"
        order |= {
            "id": order_id,
            "booking_reference": f"S{len(self.orders):05d}",
            "metadata": request.get("metadata"),
            "cancelled_at": None,
        }
        self.orders[order_id] = order
        return order

    def _page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = int(query.get("limit", ["50"])[0])
        start = int(query.get("after", ["0"])[0])
        orders = list(self.orders.values())[start : start + limit]
        after = str(start + limit) if start + limit < len(self.orders) else None
        return {"meta": {"limit": limit, "after": after, "before": None}, "data": orders}
