"""A tiny local HTTP server that speaks the OpenAI chat-completions protocol, for testing LLM backends.

It records each request body and answers with a scripted behaviour: a given tool call, a slow answer
(to trigger timeouts), an HTTP error, an answer without a tool call, or malformed arguments.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Script:
    """What the server answers next."""

    def __init__(self) -> None:
        self.mode = "tool"
        self.arguments: Any = {}
        self.delay_s = 0.0
        self.requests: list[dict[str, Any]] = []

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if self.mode == "tool":
            args = self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)
            message["tool_calls"] = [
                {"id": "call_1", "type": "function", "function": {"name": "update_query", "arguments": args}}
            ]
        elif self.mode == "text":
            message["content"] = "Sure! Here are some shirts."
        return {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}


@contextmanager
def chat_server() -> Iterator[tuple[str, Script]]:
    """Serve on 127.0.0.1 (a free port); yields (base_url, script)."""
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            script.requests.append(body)
            if script.delay_s:
                time.sleep(script.delay_s)
            if self.path != "/v1/chat/completions" or script.mode == "error":
                self.send_response(500 if script.mode == "error" else 404)
                self.end_headers()
                return
            payload = json.dumps(script.completion()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()
        server.server_close()
