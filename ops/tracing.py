"""Traces of a turn (OpenTelemetry): sent over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is
set, otherwise every span is the API's no-op one and nothing is exported.

The one boundary between the code and OpenTelemetry: the sites call `span(...)` (or a helper
below) in one line. Attributes carry counts, names of our own code, ids we made and outcomes:
never what anybody typed, an address, a name, a token or a secret (docs/security.md).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    Span,
    SpanContext,
    Status,
    StatusCode,
    Tracer,
)

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage, ToolMessage
    from langgraph.prebuilt.tool_node import ToolCallRequest
    from langgraph.types import Command
    from opentelemetry.sdk.trace import TracerProvider

NAME = "travelhub"
SERVICE = "travelhub"
Attributes = Mapping[str, str | bool | int | float]
Traced = SpanContext
"""A span that a later one (a batched write's) links to."""

_tracer: Tracer | None = None
"""Where spans go; None (not traced): `span` hands out the API's no-op span at once."""
_installed: TracerProvider | None = None


def tracing_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment names an OTLP endpoint for traces (and does not disable them)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def exporting_provider() -> TracerProvider | None:
    """A provider batching spans to the configured OTLP/HTTP endpoint; None without one.

    The exporter reads the standard variables itself (endpoint, headers, timeout, compression):
    an authorization header stays in the environment, never in a log line."""
    if not tracing_configured():
        return None
    # Imported only when tracing: the SDK and the exporter (protobuf, requests) cost nothing off.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or SERVICE})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def install_tracing() -> TracerProvider | None:
    """Export this process's spans when an endpoint is configured (once: the global provider
    can be set only once); None, and nothing installed, without one."""
    global _installed, _tracer
    if _installed is None and (provider := exporting_provider()) is not None:
        trace.set_tracer_provider(provider)
        _installed, _tracer = provider, provider.get_tracer(NAME)
    return _installed


@contextmanager
def traced_by(provider: TracerProvider) -> Iterator[None]:
    """Spans of the block go to `provider` (tests: an in-memory exporter's provider)."""
    global _tracer
    before, _tracer = _tracer, provider.get_tracer(NAME)
    try:
        yield
    finally:
        _tracer = before


@contextmanager
def span(
    name: str,
    attributes: Attributes | None = None,
    *,
    links: Sequence[SpanContext | None] = (),
    root: bool = False,
) -> Iterator[Span]:
    """A span around the block, a child of the current one (`root`: of none); `links` to
    others' spans. An exception marks it failed with its type alone: a message may quote
    what somebody typed."""
    if _tracer is None:
        yield INVALID_SPAN
        return
    with _tracer.start_as_current_span(
        name,
        context=Context() if root else None,
        attributes=attributes,
        links=[Link(linked) for linked in links if linked is not None],
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except GeneratorExit:
            raise
        except BaseException as error:
            failed(current, error)
            raise


def failed(current: Span, error: BaseException) -> None:
    current.set_attribute("error.type", type(error).__name__)
    current.set_status(Status(StatusCode.ERROR))


def here() -> Traced | None:
    """The current span, for a later span (a batched write) to link to; None when untraced."""
    context = trace.get_current_span().get_span_context()
    return context if context.is_valid else None


async def traced_model_call(model: str, call: Awaitable[BaseMessage]) -> BaseMessage:
    """`call` (the chat model answering) inside a `chat {model}` span with its token usage."""
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model}
    with span(f"chat {model}", attributes) as current:
        reply = await call
        usage = getattr(reply, "usage_metadata", None) or {}
        for key, attribute in (
            ("input_tokens", "gen_ai.usage.input_tokens"),
            ("output_tokens", "gen_ai.usage.output_tokens"),
        ):
            if isinstance(usage.get(key), int):
                current.set_attribute(attribute, usage[key])
        current.set_attribute("travelhub.model.tool_calls", len(getattr(reply, "tool_calls", [])))
        return reply


async def traced_tool_call(
    request: ToolCallRequest,
    execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
) -> ToolMessage | Command[Any]:
    """ToolNode's `awrap_tool_call`: each tool runs in an `execute_tool {name}` span whose
    outcome is the kind of its answer (an interrupt, asking the traveller, is no failure)."""
    from langgraph.errors import GraphBubbleUp

    name = request.tool_call["name"]
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.id": str(request.tool_call.get("id") or ""),
    }
    asked: GraphBubbleUp | None = None
    with span(f"execute_tool {name}", attributes) as current:
        try:
            result = await execute(request)
        except GraphBubbleUp as bubble:
            current.set_attribute("travelhub.tool.outcome", "interrupted")
            asked = bubble
        else:
            outcome = _tool_outcome(result)
            current.set_attribute("travelhub.tool.outcome", outcome)
            if outcome == "failed":  # the tool broke (ToolNode made its exception a message)
                current.set_status(Status(StatusCode.ERROR))
    if asked is not None:
        raise asked
    return result


def _tool_outcome(result: object) -> str:
    if getattr(result, "status", None) == "error":
        return "failed"
    artifact = getattr(result, "artifact", None)
    kind = artifact.get("kind") if isinstance(artifact, dict) else None
    if kind == "error":  # a sentence for the traveller (a date in the past): an answer
        return "refused"
    return str(kind) if isinstance(kind, str) else "done"
