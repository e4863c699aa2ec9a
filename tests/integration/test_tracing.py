"""Traces of a turn: the span tree of a conversation that books, on the real stack; nothing
exported without an endpoint; and the OTLP/HTTP exporter posting to a local receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agent.bootstrap import Services
from ops.tracing import exporting_provider, install_tracing, span, traced_by
from tests.integration.agent_world import traveller

pytestmark = pytest.mark.integration

OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """Spans of the test, kept in memory as they end."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with traced_by(provider):
        yield exporter


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    parent_id = parent.context.span_id if parent.context else None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent_id]


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def attr(span: ReadableSpan, key: str) -> Any:
    return (span.attributes or {}).get(key)


def only(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = named(spans, name)
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


async def test_a_booking_conversation_is_one_trace_per_turn(
    services: Services, exported: InMemorySpanExporter
) -> None:
    ada = await traveller(services)
    said = ["Flights from Paris to Rome in 3 weeks", "book the cheapest", "yes"]
    first = await services.conversations.turn(ada, said[0])
    await services.conversations.turn(ada, said[1], thread_id=first.thread_id)
    done = await services.conversations.turn(ada, said[2], thread_id=first.thread_id)
    assert done.reply.startswith("Booked!")
    await services.chat_log.flushed()
    spans = list(exported.get_finished_spans())

    turns = named(spans, "turn")
    assert [t.parent for t in turns] == [None, None, None]  # each turn is a trace's root
    assert [attr(t, "travelhub.turn.outcome") for t in turns] == [
        "answered",
        "awaiting_confirmation",
        "answered",
    ]
    assert {attr(t, "travelhub.thread_id") for t in turns} == {first.thread_id}
    searched, asked, booked = turns

    # The search: the model, then the tool, whose cache lookup says which tier answered.
    under = children(spans, searched)
    assert [s.name for s in under].count("chat offline-travel-model") == 2
    tool = only(under, "execute_tool search_flights")
    assert attr(tool, "travelhub.tool.outcome") == "flights"
    cache = only(children(spans, tool), "search.cache")
    assert attr(cache, "travelhub.search.tier") == "provider"
    assert attr(cache, "travelhub.search.kind") == "flight"

    # Asked to confirm: the book tool stops at its question (no failure), nothing booked.
    held = only(children(spans, asked), "execute_tool book")
    assert attr(held, "travelhub.tool.outcome") == "interrupted"
    assert held.status.is_ok
    assert not children(spans, held)

    # The yes: the model, the book tool and inside it the booking, then the chat log write.
    under = children(spans, booked)
    assert {s.name for s in under} == {
        "chat offline-travel-model",
        "execute_tool book",
        "chat_log.write",
    }
    booking = only(children(spans, only(under, "execute_tool book")), "booking")
    assert booking.attributes == {
        "travelhub.booking.items": 1,
        "travelhub.booking.kinds": "flight",
        "travelhub.booking.status": "confirmed",
    }
    model = named(under, "chat offline-travel-model")[0]
    assert attr(model, "gen_ai.request.model") == ("offline-travel-model")
    write = only(under, "chat_log.write")
    assert attr(write, "travelhub.chat_log.messages") >= 3

    # A commit serves a batch of turns: a trace of its own, linked to the writes it carried
    # (the turn's messages; then its analytics, which follow the commit).
    assert write.context is not None
    commits = [
        c for c in named(spans, "chat_log.commit")
        if any(link.context.span_id == write.context.span_id for link in c.links)
    ]  # fmt: skip
    assert commits
    assert all(c.parent is None for c in commits)
    (durable,) = [c for c in commits if attr(c, "travelhub.chat_log.durable")]
    assert attr(durable, "travelhub.chat_log.messages") >= 3

    # Nothing anybody typed, nor who they are, rides on a span.
    values = " ".join(str(v) for s in spans for v in (s.attributes or {}).values()).lower()
    for private in (ada.email, "ada", "paris", "rome", "cheapest", *said):
        assert private.lower() not in values


async def test_a_refusal_is_an_answer_and_a_broken_tool_a_failure(
    services: Services, exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = await traveller(services)
    await services.conversations.turn(ada, "flights from London to Paris on 2020-01-01")
    refused = only(list(exported.get_finished_spans()), "execute_tool search_flights")
    assert refused.status.is_ok
    assert attr(refused, "travelhub.tool.outcome") == "refused"

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"the bookings of {ada.email} could not be read")

    monkeypatch.setattr(services.desk.itineraries, "list", broken)
    exported.clear()
    result = await services.conversations.turn(ada, "show my bookings")
    assert "did not work on my side" in result.reply
    spans = list(exported.get_finished_spans())
    failed = only(spans, "execute_tool list_bookings")
    assert failed.status.status_code is StatusCode.ERROR
    assert attr(failed, "travelhub.tool.outcome") == "failed"
    assert only(spans, "turn").attributes == {
        "travelhub.thread_id": result.thread_id,
        "travelhub.sandbox": False,
        "travelhub.turn.outcome": "answered",  # the model told the traveller it did not work
    }
    described = [s.status.description or "" for s in spans]
    assert not any(ada.email in text for text in described)


def test_without_an_endpoint_no_exporter_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in OTEL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert exporting_provider() is None
    assert install_tracing() is None
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    with span("turn") as current:
        assert not current.is_recording()  # the API's no-op span


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: decodes each export it is posted."""

    received: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.received.append(request)
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


def test_the_otlp_exporter_posts_spans_to_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[ExportTraceServiceRequest] = []
    handler = type("Counting", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        provider = exporting_provider()
        assert provider is not None
        with traced_by(provider), span("turn"), span("chat offline-travel-model"):
            pass
        assert provider.force_flush(5_000)
        provider.shutdown()
    finally:
        server.shutdown()
        server.server_close()
    assert len(received) == 1
    (resource_spans,) = received[0].resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "travelhub"
    names = [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert sorted(names) == ["chat offline-travel-model", "turn"]
