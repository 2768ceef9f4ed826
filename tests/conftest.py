"""Shared fixtures: every test gets its own workspace, database and plugin manager."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner

from socialsell.app import App
from socialsell.plugins.manager import build_plugin_manager
from socialsell.workspace import init_workspace

from .pgserver import INSTALL_HINT, PostgresServer

REQUIRE_POSTGRES = os.environ.get("SOCIALSELL_REQUIRE_POSTGRES") == "1"

#: The test clock starts here (a Monday, 09:00 in Berlin).
TEST_CLOCK_START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
#: Where the real clock seems to be inside the test process: far from the test clock, so a test
#: (or a command under test) that mixes the two fails on every run, not only once the calendar has
#: passed the test date. SOCIALSELL_TEST_WALL_CLOCK=off leaves the real clock alone.
WALL_CLOCK = os.environ.get("SOCIALSELL_TEST_WALL_CLOCK", "2031-06-15T12:00:00+00:00")


def real_now() -> datetime:
    """The real time, for the few tests that drive real worker processes (they run on the real
    clock, which the suite moves away inside the test process)."""
    return time_machine.escape_hatch.datetime.datetime.now(UTC)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's environment, keyring or current folder, nor the logging
    set up by an earlier test's in-process `socialsell run`."""
    for var in list(os.environ):
        if var.startswith("SOCIALSELL_") and var != "SOCIALSELL_REQUIRE_POSTGRES":
            monkeypatch.delenv(var)
    monkeypatch.setenv("SOCIALSELL_NO_KEYRING", "1")
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("socialsell")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    if WALL_CLOCK == "off":
        yield
    else:
        with time_machine.travel(datetime.fromisoformat(WALL_CLOCK), tick=True):
            yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh workspace (as `socialsell init` makes it); returns the config path."""
    return init_workspace(tmp_path / "ws", name="Test", timezone="Europe/Berlin")


@pytest.fixture
def pm():
    return build_plugin_manager()


@pytest.fixture
def clock():
    """A controllable clock: ``clock.now`` is what the App sees; ``clock.advance(minutes=5)``
    (the one plugin authors get with ``socialsell_app``)."""
    from socialsell.testing.pytest_plugin import TestClock

    return TestClock(TEST_CLOCK_START)


@pytest.fixture
def make_app(workspace: Path, pm, clock):
    """Build Apps on the test workspace (several share one database, like several workers)."""
    apps: list[App] = []

    def make(db_url: str | None = None, actor: str = "alice", **kwargs) -> App:
        app = App.load(str(workspace), db_url, pm=pm, actor=actor, clock=clock, **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app) -> App:
    return make_app()


def publish_quietly(app: App, clock, text: str = "Hello") -> str:
    """Publish one post on the sandbox with its simulated audience off (only what a test injects
    reacts); returns the post's remote id, for ``app.channel("sandbox").inject(post_id=...)``."""
    from datetime import timedelta

    from socialsell.loop.publishing import publish_due
    from socialsell.marketing.posts import create_post, get_post

    app.channel("sandbox").audience = False
    post_id = create_post(app, accounts=["sandbox"], text=text, at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    return get_post(app, post_id)["deliveries"][0]["remote_id"]


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except FileNotFoundError:
        if REQUIRE_POSTGRES:
            pytest.fail(f"SOCIALSELL_REQUIRE_POSTGRES=1 but no PostgreSQL server binary: {INSTALL_HINT}")
        pytest.skip(f"no PostgreSQL server binary: {INSTALL_HINT}")
    try:
        server.start()
    except Exception as e:
        server.stop()
        if REQUIRE_POSTGRES:
            pytest.fail(f"could not start PostgreSQL: {e}")
        pytest.skip(f"could not start PostgreSQL ({e}); {INSTALL_HINT}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A new, empty PostgreSQL database for this test."""
    return pg_server.create_database("t_" + uuid.uuid4().hex[:12])


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, workspace: Path) -> str | None:
    """Run the test on SQLite (the workspace's file) and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli(workspace: Path, clock):
    """``cli("post", "list")`` runs the real CLI in-process against the test workspace, on the
    test clock (``tomorrow 09:00``, due times and "overdue" all follow ``clock``)."""
    from socialsell.cli import build_cli

    runner = CliRunner()

    def invoke(*args: str, actor: str = "alice", input: str | None = None, env: dict | None = None):
        command = build_cli(clock=clock)
        full = ["--config", str(workspace), "--as", actor, *args]
        return runner.invoke(command, full, input=input, env=env, catch_exceptions=False)

    return invoke
