"""socialsell's pytest plugin: fixtures for plugin authors' tests, usable with no import.

Registered through the ``pytest11`` entry point of the socialsell distribution, so pytest loads
it in every environment where socialsell and pytest are installed (``pip install
socialsell[testing]``). Documented in docs/plugins.md, "Testing your plugin".

Every fixture is named ``socialsell_...``, so none shadows a fixture of the project under test.
This module loads in every pytest session of such an environment, even one that never uses
socialsell, so it imports socialsell only inside the fixtures: ``socialsell.testing`` brings the
workspace and the settings, about 250 ms measured with ``-X importtime`` on the shared machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from socialsell.api import Account


@pytest.fixture
def socialsell_account(tmp_path: Path) -> Callable[..., Account]:
    """``socialsell_account(channel="mastodon", name="acct", token={"env": "NAME"}, ...)``: an
    ``Account`` built exactly as an ``[[accounts]]`` table of ``socialsell.toml`` is, in a
    workspace under ``tmp_path`` (its ``workspace.state_dir`` is private to the test)."""
    from socialsell.testing import make_account  # noqa: PLC0415 - see the module docstring

    def make(channel: str = "x", name: str = "acct", **settings: Any) -> Account:
        return make_account(tmp_path, channel=channel, name=name, **settings)

    return make


@pytest.fixture
def socialsell_secret(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], dict[str, str]]:
    """``socialsell_secret("MASTODON_TOKEN", "test-token")``: sets the environment variable for
    this test and returns the reference to write in a setting, ``{"env": "MASTODON_TOKEN"}``
    (secrets are never values in the config)."""

    def secret(name: str, value: str) -> dict[str, str]:
        monkeypatch.setenv(name, value)
        return {"env": name}

    return secret


@pytest.fixture
def socialsell_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[pluggy.PluginManager]:
    """A fresh plugin manager with every installed plugin loaded the way ``socialsell`` loads
    them (entry points, ``SOCIALSELL_LOAD_PLUGINS``...): call your hooks through it
    (``socialsell_plugins.hook.score_engagement(...)``) to test them as the core calls them, the
    entry point included. ``SOCIALSELL_TRACE_PLUGINS`` is left off."""
    from socialsell.plugins.manager import build_plugin_manager  # noqa: PLC0415 - see the module docstring

    monkeypatch.delenv("SOCIALSELL_TRACE_PLUGINS", raising=False)
    yield build_plugin_manager()


@pytest.fixture
def socialsell_channel_types(socialsell_plugins: pluggy.PluginManager) -> dict[str, type]:
    """The channel types the installed plugins register (``register_channels``), by name."""
    from socialsell.plugins.manager import channel_types  # noqa: PLC0415 - see the module docstring

    return channel_types(socialsell_plugins)


class TestClock:
    """A clock a test moves by hand: ``clock()`` (what the App reads) and ``clock.now`` are the
    same aware UTC time, ``clock.advance(minutes=5)`` moves it."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, now: Any) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now

    def advance(self, **delta: float) -> Any:
        from datetime import timedelta  # noqa: PLC0415 - see the module docstring

        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def socialsell_app(tmp_path: Path) -> Iterator[Any]:
    """An ``App`` on a fresh workspace under ``tmp_path`` (SQLite, the ``sandbox`` account, the
    team of ``socialsell init``), on a test clock (``socialsell_app.clock``: a
    :class:`TestClock` starting 2026-06-01 12:00 UTC): what a job or a hook of yours receives."""
    from datetime import UTC, datetime  # noqa: PLC0415 - see the module docstring

    from socialsell.app import App  # noqa: PLC0415 - see the module docstring
    from socialsell.workspace import init_workspace  # noqa: PLC0415 - see the module docstring

    folder = init_workspace(tmp_path / "workspace", name="plugin-test")
    clock = TestClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    app = App.load(str(folder), None, actor="alice", clock=clock)  # app.clock is this clock
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def socialsell_engage(socialsell_app: Any) -> Callable[..., int]:
    """``socialsell_engage("@dana", "can I get a demo?", name="Dana Diaz")``: that person mentions
    the sandbox account and a poll takes it in, exactly as ``socialsell run`` does: a contact and
    their follow-up task exist afterwards. Returns the contact's id."""
    from sqlalchemy import select  # noqa: PLC0415 - see the module docstring

    from socialsell.db import schema as t  # noqa: PLC0415 - see the module docstring
    from socialsell.loop.polling import poll_account  # noqa: PLC0415 - see the module docstring
    from socialsell.sales.ingest import norm_handle  # noqa: PLC0415 - see the module docstring

    def engage(handle: str, text: str | None = "can I get a demo?", *, kind: str = "mention",
               name: str | None = None, headline: str | None = None) -> int:
        app = socialsell_app
        app.channel("sandbox").inject(post_id=None, kind=kind, handle=handle, text=text, name=name,
                                      headline=headline, at=app.clock.now)
        report = poll_account(app, "sandbox", "plugin-test", app.clock.now)
        if report.error or not report.new:
            raise AssertionError(f"the sandbox poll stored no engagement from {handle}: {report}")
        H = t.handles
        with app.db.read() as conn:
            return conn.execute(select(H.c.contact_id).where(H.c.channel == "sandbox",
                                                             H.c.handle == norm_handle(handle))).scalar_one()

    return engage
