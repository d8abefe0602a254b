"""Schemathesis stateful run over the whole API in production mode (keys on): sequences of calls, where ids
a response returns feed later calls (through the links schemathesis infers), as a signed-in shopper; no call
may answer 5xx.

Hypothesis needs every example to meet the same server state (it checks that generation is repeatable), so
each example gets a fresh copy of a prebuilt home behind the app, which is why this runs in-process (ASGI)
rather than against the shared live server of the other hostile cases.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from moodboard.api.app import create_app
from moodboard.api.auth import issue_token
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings, load_settings
from tests.hostile.conftest import OPERATOR_KEY, SECRET, _build_home

pytestmark = pytest.mark.slow


def _settings(home: Path) -> Settings:
    return load_settings(
        home=home,
        embed={"backend": "fake", "dim": 32},
        ingest={"workers": 1},
        api={"dev_mode": False, "api_keys": [OPERATOR_KEY], "secret_key": SECRET, "warm_up": False,
             "rate_limit_per_minute": 100_000, "rate_limit_burst": 100_000},
    )  # fmt: skip


class _Switch:
    """An ASGI app that forwards to the app of the current example."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def test_stateful_run_has_no_server_errors(tmp_path: Path) -> None:
    base = tmp_path / "base" / "home"
    _build_home(base)
    store = CatalogStore.open(_settings(base).database_url)
    carol = store.ensure_user("carol").id
    store.close()
    headers = {"Authorization": f"Bearer {issue_token(SECRET.encode(), carol, 3600)}"}
    switch = _Switch()
    switch.app = create_app(_settings(base))
    schema = schemathesis.openapi.from_asgi("/openapi.json", switch)
    counter = itertools.count()
    errors: list[str] = []
    calls: list[str] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            home = tmp_path / f"ex{next(counter)}"
            shutil.copytree(base, home)
            switch.app = create_app(_settings(home))

        def teardown(self) -> None:
            switch.app.state.services.close()

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            calls.append(f"{case.method} {case.path}")
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
            assert response.status_code < 500, errors[-1]

    run_settings = settings(
        max_examples=20, stateful_step_count=5, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    Workflow.run(settings=run_settings)
    assert not errors, errors
    assert len(calls) >= 40 and len(set(calls)) >= 10, sorted(set(calls))  # it explored the API
