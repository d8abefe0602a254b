"""Conversational assistant: query state, parser, refinement, goal planner, retrievers, sessions, LLM backend."""
