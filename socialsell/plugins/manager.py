"""The plugin manager: built-in and third-party plugins, loaded the same way.

Plugins are found through the ``socialsell`` entry-point group (the built-in ``sandbox``, ``x``
and ``linkedin`` channels too). Two environment variables narrow what loads:

- ``SOCIALSELL_LOAD_PLUGINS=a,b`` loads only those entry points (empty: none);
- ``SOCIALSELL_BLOCK_PLUGINS=a,b`` blocks those (``pm.set_blocked``).

``--plugins-dir DIR`` (or ``SOCIALSELL_PLUGINS_DIR``) also loads every ``*.py`` file in DIR
as a plugin, for trying one out without packaging it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from socialsell.errors import UsageError
from socialsell.plugins import hookspecs, trace
from socialsell.settings import KNOWN_KEYS, Setting

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.plugins.channel import Channel

ENTRY_POINT_GROUP = "socialsell"


def _names(var: str) -> set[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def build_plugin_manager(plugins_dir: str | os.PathLike[str] | None = None) -> pluggy.PluginManager:
    """A fresh plugin manager with every allowed plugin registered and checked."""
    pm = pluggy.PluginManager("socialsell")
    pm.add_hookspecs(hookspecs)
    for name in _names("SOCIALSELL_BLOCK_PLUGINS") or ():
        pm.set_blocked(name)
    _load_entry_points(pm, _names("SOCIALSELL_LOAD_PLUGINS"))
    plugins_dir = plugins_dir or os.environ.get("SOCIALSELL_PLUGINS_DIR")
    if plugins_dir:
        load_plugins_dir(pm, Path(plugins_dir))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        raise UsageError(f"a plugin implements a hook that does not exist: {e}") from None
    trace.enable_if_asked(pm)  # SOCIALSELL_TRACE_PLUGINS=1
    return pm


def _load_entry_points(pm: pluggy.PluginManager, allow: set[str] | None) -> None:
    """Register the entry points (those in ``allow`` when given) with pluggy's own loader, which
    records each one's distribution for ``list_plugin_distinfo`` (``socialsell plugins``). Each
    module is imported first on its own, so a plugin that cannot load is named (:func:`_load`)."""
    skipped = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allow is not None and ep.name not in allow:
            skipped.add(ep.name)
        elif not (pm.is_blocked(ep.name) or pm.has_plugin(ep.name)):
            _load(f"plugin {ep.name} ({ep.value})", ep.load)
    skipped -= {name for name in skipped if pm.is_blocked(name)}
    for name in skipped:  # not allowed: kept out of pluggy's loader for this call only
        pm.set_blocked(name)
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except (ValueError, pluggy.PluginValidationError) as e:  # the same module twice; a bad hookimpl
        raise UsageError(f"a plugin cannot be registered: {e}") from None
    finally:
        for name in skipped:
            pm.unblock(name)


def installed_plugin_names(plugins_dir: str | os.PathLike[str] | None = None) -> set[str]:
    """The names plugins would register under (the entry points, the ``*.py`` files of the
    plugins folder), found without importing any: a plugin's settings section is named so."""
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    plugins_dir = plugins_dir or os.environ.get("SOCIALSELL_PLUGINS_DIR")
    if plugins_dir and Path(plugins_dir).is_dir():
        names |= {path.stem for path in Path(plugins_dir).glob("*.py")}
    return names


def declared_sections(pm: pluggy.PluginManager) -> dict[str, tuple[Setting, ...]]:
    """The settings sections plugins declare (``register_settings``), by name."""
    sections: dict[str, tuple[Setting, ...]] = {}

    def register(section: str, settings: Iterable[Setting]) -> None:
        if section in KNOWN_KEYS[""] or section in sections:
            raise UsageError(f"declares a settings section [{section}], which "
                             f"{'socialsell' if section in KNOWN_KEYS[''] else 'another plugin'} declares already")
        settings = tuple(settings)
        if not all(isinstance(s, Setting) for s in settings):
            raise UsageError(f"declares [{section}] with something that is not a socialsell.api.Setting")
        sections[section] = settings

    call_each_plugin(pm, "register_settings", register=register)
    return sections


def load_plugins_dir(pm: pluggy.PluginManager, folder: Path) -> None:
    if not folder.is_dir():
        raise UsageError(f"--plugins-dir {folder}: not a folder")
    for path in sorted(folder.glob("*.py")):
        name = f"socialsell_local_{path.stem}"
        if pm.has_plugin(path.stem) or pm.is_blocked(path.stem):
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            _load(f"plugin {path}", functools.partial(spec.loader.exec_module, module))
        except UsageError:
            sys.modules.pop(name, None)
            raise
        _register(pm, module, path.stem)


def _load(what: str, load: Callable[[], Any]) -> Any:
    """Import a plugin. Whatever goes wrong, even ``sys.exit(0)`` at import, is one line naming
    the plugin: a plugin must never make a command end quietly having done nothing."""
    try:
        return load()
    except SystemExit as e:
        raise UsageError(f"{what}: called sys.exit({e.code!r}) while loading; fix or remove the plugin") from None
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        message = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(f"{what}: cannot load it ({type(e).__name__}: {message})") from None


def _register(pm: pluggy.PluginManager, module: Any, name: str) -> None:
    try:
        pm.register(module, name=name)
    except ValueError as e:  # the same module registered twice under two names
        raise UsageError(f"plugin {name}: {e}") from None
    except pluggy.PluginValidationError as e:
        raise UsageError(f"plugin {name}: {e}") from None


def call_each_plugin(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[Any]:
    """Call ``hook`` (one call, so ``SOCIALSELL_TRACE_PLUGINS`` shows it) and name the plugin at
    fault when it fails: an exception or ``sys.exit`` in a plugin is one line naming it, never a
    traceback, never a command ending quietly with exit status 0."""
    try:
        return getattr(pm.hook, hook)(**kwargs)
    except KeyboardInterrupt:
        raise
    except UsageError as e:
        raise UsageError(f"plugin {_culprit(pm, hook, e)}: {e}") from None
    except SystemExit as e:
        raise UsageError(f"plugin {_culprit(pm, hook, e)}: {hook} called sys.exit({e.code!r}); fix or remove the plugin") from None
    except Exception as e:
        message = str(e).splitlines()[0] if str(e) else ""
        raise UsageError(f"plugin {_culprit(pm, hook, e)}: {hook} failed ({type(e).__name__}: {message})") from None


def _culprit(pm: pluggy.PluginManager, hook: str, error: BaseException) -> str:
    """The plugin whose implementation of ``hook`` the error went through (the innermost one)."""
    codes = {getattr(impl.function, "__code__", None): impl.plugin_name for impl in getattr(pm.hook, hook).get_hookimpls()}
    name, tb = None, error.__traceback__
    while tb is not None:
        name = codes.get(tb.tb_frame.f_code, name)
        tb = tb.tb_next
    return name or "(unknown)"


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Each plugin, the hooks it implements and its version (``socialsell plugins --json``)."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        dist = dists.get(id(plugin))  # None: from --plugins-dir, or registered in-process
        rows.append({
            "id": name,
            "name": name,
            "package": dist.project_name if dist else getattr(plugin, "__file__", None) or getattr(plugin, "__name__", name),
            "version": (dist.version if dist else None) or getattr(plugin, "__version__", None),
            "hooks": hooks,
        })
    return rows


def channel_types(pm: pluggy.PluginManager) -> dict[str, type[Channel]]:
    """Channel types registered by plugins, by name."""
    registry: dict[str, type[Channel]] = {}

    def register(name: str, cls: type[Channel]) -> None:
        if name in registry and registry[name] is not cls:
            raise UsageError(f"registers a channel named {name!r}, which {registry[name].__module__} registers "
                             "already: give it another name")
        registry[name] = cls

    call_each_plugin(pm, "register_channels", register=register)
    return registry
