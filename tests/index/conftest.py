"""Shared fixtures of the `VectorIndex` contract suites: every backend, each with the settings it runs under."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from moodboard.core.settings import IndexSettings

# (backend, settings): the faiss backend runs twice, below and above its exact-search threshold, so
# both its exact and its HNSW paths meet the same contract.
CASES = {
    "exact": ("exact", IndexSettings(backend="exact")),
    "faiss-exact": ("faiss", IndexSettings(backend="faiss", exact_threshold=10_000)),
    "faiss-hnsw": ("faiss", IndexSettings(backend="faiss", exact_threshold=1, prefilter_max=0, hnsw_ef_search=64)),
    # the distributed backend against a real engine: Milvus Lite over its gRPC protocol (uri set per test)
    "milvus": ("milvus", IndexSettings(backend="milvus")),
    # ...and against a Milvus server process on loopback (`milvus-lite server`), the production code path
    "milvus-server": ("milvus", IndexSettings(backend="milvus", milvus={"uri": "http://server"})),
}


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of a `milvus-lite server` process on a free loopback port, stopped after the session."""
    pytest.importorskip("milvus_lite", reason="milvus-lite is not installed: pip install 'moodboard[milvus]'")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path_factory.mktemp("milvus-server")
    cmd = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None:
            pytest.fail(f"milvus-lite server exited with {proc.returncode}")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, IndexSettings]:
    backend, settings = CASES[request.param]
    if backend == "milvus":
        pytest.importorskip("pymilvus", reason="pymilvus is not installed: pip install 'moodboard[milvus]'")
        uri = str(tmp_path_factory.getbasetemp() / "milvus-contract.db")
        if settings.milvus.uri:
            uri = request.getfixturevalue("milvus_server")
        settings = settings.model_copy(update={"milvus": settings.milvus.model_copy(update={"uri": uri})})
    return backend, settings
