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
    session_ttl_s: float = Field(
        30 * 24 * 3600, ge=60, description="a session idle this long expires (deleted with its photos and guest events)"
    )
    session_sweep_s: float = Field(600.0, ge=1, description="how often a process deletes expired sessions, at most")
    max_session_images: int = Field(20, ge=1, le=10_000, description="photos kept per session (the oldest go first)")
    max_session_image_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="bytes of photos kept per session (the oldest go first)"
    )
