"""The chat model: an OpenAI-compatible one when configured, else the offline travel model."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agent.offline.model import OfflineTravelModel
from agent.settings import Settings


def build_model(settings: Settings) -> BaseChatModel:
    """ChatOpenAI with OPENAI_API_KEY (and OPENAI_BASE_URL for Ollama, vLLM, llama.cpp...)."""
    if settings.openai_api_key is None:
        return OfflineTravelModel()
    return ChatOpenAI(
        model=settings.model_name,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        temperature=0,
        streaming=True,
        stream_usage=True,
        timeout=settings.provider_timeout_seconds * 6,
        max_retries=2,
    )


def model_name(model: BaseChatModel) -> str:
    return str(getattr(model, "model_name", None) or model._llm_type)
