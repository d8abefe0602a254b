"""The conversational assistant and its optional LLM backend."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AssistantSettings(BaseModel):
    """Conversation behaviour and the optional OpenAI-compatible LLM backend."""

    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = Field(8.0, gt=0, le=120)
    max_message_chars: int = Field(4000, ge=16)
    hints_file: str = Field(
        "",
        description='TOML of the operator\'s own words for the catalog ([synonyms] couch = ["sofa"]); '
        "see README, Conversational assistant",
    )
