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
