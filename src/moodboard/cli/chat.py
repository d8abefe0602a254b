"""`moodboard chat`: talk to the assistant in a terminal.

Type what you are looking for; refine over several turns. Commands: `/image PATH [message]` sends a
photo, `/save N` and `/click N` tell the assistant you liked result N, `/state` shows the query state,
`/quit` (or Ctrl-D) leaves. `--session ID` resumes a conversation.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from moodboard.assistant.engine import Assistant
from moodboard.assistant.explain import money
from moodboard.assistant.reply import Reply, ResultItem
from moodboard.cli.context import get_settings, open_store
from moodboard.core.errors import MoodboardError

out = Console()
MAX_ROWS = 10


def _table(title: str, items: list[ResultItem]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in ("#", "title", "colour", "price", "why"):
        table.add_column(col, overflow="fold")
    for it in items[:MAX_ROWS]:
        price = money(it.price, it.currency) if it.price is not None else "–"
        table.add_row(str(it.position), it.title, it.color or "–", price, it.why)
    return table


def render(reply: Reply, console: Console = out) -> None:
    """Print one reply: message, results or sections, and chips."""
    console.print(f"[bold]assistant:[/bold] {reply.message}")
    if reply.results:
        console.print(_table(f"{len(reply.results)} results", reply.results))
    for sec in reply.sections:
        if sec.results:
            console.print(_table(sec.name, sec.results))
        else:
            console.print(f"[dim]{sec.name}: {sec.note}[/dim]")
    if reply.chips:
        console.print("[dim]try: " + " · ".join(reply.chips) + "[/dim]")


def _command(assistant: Assistant, session_id: str, line: str, shown: list[int]) -> Reply | None:
    parts = shlex.split(line)
    cmd = parts[0].lower()
    if cmd == "/image":
        if len(parts) < 2:
            raise typer.BadParameter("usage: /image PATH [message]")
        data = Path(parts[1]).expanduser().read_bytes()
        return assistant.respond(session_id, " ".join(parts[2:]), image=data)
    if cmd in {"/save", "/click", "/hide"}:
        n = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if not 1 <= n <= len(shown):
            out.print(f"[red]no result #{n} on screen[/red]")
            return None
        assistant.feedback(session_id, shown[n - 1], cmd[1:])
        out.print(f"[green]noted: {cmd[1:]} #{n}[/green]")
        return None
    if cmd == "/state":
        out.print_json(json.dumps(assistant.sessions.load(session_id).state.to_dict()))
        return None
    out.print("[red]unknown command[/red] (use /image, /save, /click, /hide, /state, /quit)")
    return None


def chat(
    ctx: typer.Context,
    session: Annotated[str | None, typer.Option("--session", help="resume this session id")] = None,
    user_id: Annotated[int | None, typer.Option("--user-id", help="a known user (taste profile)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print each reply as one JSON line")] = False,
) -> None:
    """Talk to the shopping assistant in the terminal."""
    from moodboard.runtime import build_runtime

    settings = get_settings(ctx)
    store = open_store(settings)
    try:
        assistant = build_runtime(settings, store).assistant.get()
        sid = session or assistant.start(user_id).id
        assistant.sessions.load(sid)
        if not json_out:
            out.print(f"[dim]session {sid} · {store.count_pins():,} pins · /quit to leave[/dim]")
        shown: list[int] = []
        while True:
            try:
                line = input("" if json_out else "you> ").strip()
            except EOFError:
                break
            if not line:
                continue
            if line.lower() in {"/quit", "/exit", "quit", "exit"}:
                break
            try:
                reply = _command(assistant, sid, line, shown) if line.startswith("/") else assistant.respond(sid, line)
            except (MoodboardError, OSError, typer.BadParameter) as exc:
                out.print(f"[red]{exc}[/red]")
                continue
            if reply is not None and json_out:
                typer.echo(json.dumps(reply.to_dict(), default=str))
            elif reply is not None:
                render(reply)
                shown = [it.pin_id for it in reply.results] + [
                    it.pin_id for sec in reply.sections for it in sec.results
                ]
        if not json_out:
            out.print(f"[dim]bye · resume with: moodboard chat --session {sid}[/dim]")
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add `moodboard chat` to the CLI."""
    app.command("chat")(chat)
