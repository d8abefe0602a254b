"""Runs the `moodboard` CLI with a SIGKILL armed at a chosen file-system event (the kill -9 tests' driver).

`python -m tests.hardening.kill_hook ARGS...` is `moodboard ARGS...` plus an audit hook that watches the
job's writes under `MOODBOARD_HOME` (opens for writing, mkdir, rename/replace, remove, SQLite connects):

- `KILL_HOOK_TRACE=FILE`: record every such event as `[seconds since the first, event, path]` and write
  the list to FILE at exit (the clean run that tells the test how many kill points the job has);
- `KILL_HOOK_AT=N` and `KILL_HOOK_DELAY_S=D`: at the N-th event, SIGKILL this process after D seconds
  (0 = before the operation runs). A delay lands the kill inside the work between two events (a batch
  on the model, a faiss write, an SQLite commit), which no audit event marks.

SIGKILL runs no `finally`, no `atexit`: exactly what a crash or the OOM killer leaves behind.

`python -m tests.hardening.kill_hook --fork-server` imports the CLI and the heavy libraries (torch,
open_clip) once, then runs each request read from stdin (one JSON line: args, env, stdout/stderr files)
in a forked child, answering one JSON line with its exit status (negative: the signal that ended it).
The tests start one per module, so a run costs the job's work, not 20 s of imports on a busy machine.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

_WRITE_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "sqlite3.connect"}


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install() -> Callable[[], None]:
    """Install the audit hook configured by the environment; returns the function that writes the trace."""
    home = os.path.realpath(os.environ["MOODBOARD_HOME"])
    trace_file = os.environ.get("KILL_HOOK_TRACE")
    kill_at = int(os.environ.get("KILL_HOOK_AT", "0"))
    delay = float(os.environ.get("KILL_HOOK_DELAY_S", "0"))
    trace: list[tuple[float, str, str]] = []
    state = {"n": 0, "t0": 0.0}

    def is_write(event: str, args: tuple[object, ...]) -> str | None:
        if event == "open":
            path, mode = args[0], args[1]
            flags = args[2] if len(args) > 2 else 0
            writing = isinstance(mode, str) and any(c in mode for c in "wax+")
            writing = writing or (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) != 0)
            return str(path) if writing and isinstance(path, str | bytes | os.PathLike) else None
        if event in _WRITE_EVENTS and args:
            return str(args[0])
        return None

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "open" and event not in _WRITE_EVENTS:
            return
        path = is_write(event, args)
        if path is None or not os.path.realpath(os.fsdecode(path)).startswith(home):
            return
        state["n"] += 1
        now = time.monotonic()
        if state["n"] == 1:
            state["t0"] = now
        if trace_file:
            trace.append((round(now - state["t0"], 4), event, os.path.relpath(os.fsdecode(path), home)))
        if kill_at and state["n"] == kill_at:
            if delay <= 0:
                _kill()
            timer = threading.Timer(delay, _kill)
            timer.daemon = True
            timer.start()

    def write_trace() -> None:
        if trace_file:
            with open(trace_file, "w") as f:
                f.write(json.dumps(trace))

    atexit.register(write_trace)
    sys.addaudithook(hook)
    return write_trace


def _run_cli(args: list[str]) -> int:
    from moodboard.cli.main import main

    sys.argv = ["moodboard", *args]
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _child(request: dict[str, object]) -> None:
    os.environ.update(request["env"])  # type: ignore[arg-type]
    for fd, name in ((1, "stdout"), (2, "stderr")):
        target = os.open(str(request[name]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    write_trace = install()
    code = _run_cli(list(request["args"]))  # type: ignore[call-overload]
    write_trace()  # os._exit skips atexit
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def fork_server() -> None:
    """Answer run requests from stdin with forked children (see the module docstring)."""
    import moodboard.cli.main as cli

    cli.build_app()
    for name in ("torch", "open_clip", "PIL.Image", "faiss", "numba"):
        with contextlib.suppress(ImportError):
            __import__(name)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                _child(request)
            finally:
                os._exit(70)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(json.dumps({"rc": code}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--fork-server"]:
        fork_server()
    else:
        install()
        sys.exit(_run_cli(sys.argv[1:]))
