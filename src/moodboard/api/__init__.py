"""HTTP API: the FastAPI app factory, per-resource routes, error mapping and the static web UI."""
