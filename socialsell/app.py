"""One running socialsell: the workspace, its database, its plugins, and who is acting.

Commands and jobs receive an :class:`App`; domain modules take it as their first argument.
Channels are built lazily, at first use, so a command that never touches the network never
imports a network library.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from socialsell.clock import utcnow
from socialsell.db import schema as t
from socialsell.db.engine import Database
from socialsell.errors import UsageError
from socialsell.plugins.views import DeliveryView
from socialsell.redact import one_line
from socialsell.settings import Settings
from socialsell.workspace import PluginSettings, Workspace, load_workspace

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from socialsell.plugins.channel import Channel

log = logging.getLogger("socialsell")


class App:
    def __init__(
        self,
        workspace: Workspace,
        *,
        pm: pluggy.PluginManager | None = None,
        actor: str | None = None,
        db: Database | None = None,
        clock: Callable[[], datetime] | None = None,
        plugins_dir: str | None = None,
    ):
        self.workspace = workspace
        self._pm = pm
        self._db = db
        self._plugins_dir = plugins_dir
        self.actor = actor or os.environ.get("SOCIALSELL_USER") or _default_actor(workspace)
        self.clock = clock or utcnow  # tests and the demo pass their own clock
        self._channels: dict[str, Channel] = {}
        self._account_ids: dict[str, int] | None = None
        self._sections_checked = False
        self._channel_types: dict[str, type[Channel]] | None = None

    @classmethod
    def load(cls, config: str | None = None, db_url: str | None = None, **kwargs: Any) -> App:
        return cls(load_workspace(config, db_url, kwargs.get("plugins_dir")), **kwargs)

    @property
    def settings(self) -> Settings:
        """The workspace's typed settings (checked at load)."""
        return self.workspace.settings

    def now(self) -> datetime:
        return self.clock()

    @property
    def pm(self) -> pluggy.PluginManager:
        """The plugin manager, built at first use; the plugins' sections are checked then."""
        if self._pm is None:
            from socialsell.plugins.manager import build_plugin_manager  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.plugins.manager; kept off its path

            self._pm = build_plugin_manager(self._plugins_dir)
        if not self._sections_checked:
            self._check_plugin_sections(self._pm)
            self._sections_checked = True
        return self._pm

    def _check_plugin_sections(self, pm: pluggy.PluginManager) -> None:
        """The plugins' sections against what they declare (docs/configuration.md): a bad one
        is one ConfigError before any hook or job runs."""
        from socialsell.plugins.manager import (  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.plugins.manager; kept off its path
            declared_sections,
            installed_plugin_names,
        )

        self.workspace.apply_declared_sections(
            declared_sections(pm),
            installed_plugin_names(self._plugins_dir) if self.workspace.settings.plugin_sections else (),
        )

    def plugin_settings(self, section: str) -> PluginSettings | None:
        """A plugin's own ``[section]``, checked against its declaration (``register_settings``);
        None when the file has no such section."""
        self.pm  # noqa: B018 - loading the plugins checks their sections
        return self.workspace.plugin_settings.get(section)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def fire(self, event: str, **kwargs: Any) -> None:
        """Call an event hook (``post_published``, ``task_created``...) after a commit: each
        plugin listening is called on its own, so one that raises neither keeps the others from
        the event nor stops the caller (the loop goes on); the failure is logged naming the
        plugin (docs/plugins.md, "Events"). ``SOCIALSELL_TRACE_PLUGINS`` shows each call."""
        impls = getattr(self.hook, event).get_hookimpls()
        if not impls:
            getattr(self.hook, event)(**kwargs)  # a no-op, but the trace shows the event
            return
        for impl in impls:
            only = self.pm.subset_hook_caller(event, remove_plugins=[i.plugin for i in impls if i is not impl])
            try:
                only(**kwargs)
            except (Exception, SystemExit) as e:  # a plugin's bug, never the core's: named, then go on
                log.error("plugin %s: %s failed (%s: %s); the other plugins and the loop go on", impl.plugin_name,
                          event, type(e).__name__, one_line(str(e)),
                          extra={"event": "plugin.failed", "plugin": impl.plugin_name, "hook": event})

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.workspace.db_url)
        return self._db

    @property
    def channel_types(self) -> dict[str, type[Channel]]:
        """Channel types by name (``register_channels``, called once, at first need: building a
        channel, the loop, ``channels``, ``status``). The accounts' own keys are checked then
        against what their channel declares: a bad one is one ConfigError before any channel is
        built. Registering imports every channel module (about 45 ms), which a command that
        builds no channel, as ``report`` that loads the plugins for their report sections, never
        pays (docs/reports.md, "Speed")."""
        if self._channel_types is None:
            from socialsell.plugins.manager import channel_types  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.plugins.manager; kept off its path

            types = channel_types(self.pm)
            self.workspace.apply_account_settings({name: cls.settings for name, cls in types.items()})
            self._channel_types = types
        return self._channel_types

    def channel(self, account_name: str) -> Channel:
        """The channel object for a configured account (built once, no network call)."""
        if account_name not in self._channels:
            account = self.workspace.account(account_name)
            cls = self.channel_types.get(account.channel)
            if cls is None:
                known = ", ".join(sorted(self.channel_types)) or "none"
                raise UsageError(
                    f"account {account_name!r} uses channel type {account.channel!r}, which no installed plugin provides (installed: {known})"
                )
            channel = cls(account)
            channel.clock = self.clock
            self._channels[account_name] = channel
        return self._channels[account_name]

    # -- accounts in the database ------------------------------------------------------------

    def account_ids(self) -> dict[str, int]:
        """Account name -> id, creating rows for accounts newly added to the config."""
        if self._account_ids is None:
            with self.db.read() as conn:
                rows = dict(conn.execute(select(t.accounts.c.name, t.accounts.c.id)).all())
            missing = [a for a in self.workspace.accounts.values() if a.name not in rows]
            if missing:
                with self.db.write() as conn:
                    for a in missing:
                        exists = conn.execute(select(t.accounts.c.id).where(t.accounts.c.name == a.name)).scalar()
                        if exists is None:
                            conn.execute(insert(t.accounts).values(
                                name=a.name, channel=a.channel, handle=a.handle,
                                status="active", created_at=self.now(),
                            ))
                    rows = dict(conn.execute(select(t.accounts.c.name, t.accounts.c.id)).all())
            self._account_ids = rows
        return self._account_ids

    def account_id(self, name: str) -> int:
        self.workspace.account(name)  # a clear error for an unknown name
        return self.account_ids()[name]

    def delivery(self, post_id: int, account_name: str) -> DeliveryView | None:
        """Post ``post_id`` on account ``account_name`` (its status, remote id...), or None if it
        was never queued there. Part of the plugin API (docs/plugins.md, "The App")."""
        with self.db.read() as conn:
            row = conn.execute(
                select(t.deliveries, t.accounts.c.name.label("account"))
                .join(t.accounts, t.accounts.c.id == t.deliveries.c.account_id)
                .where(t.deliveries.c.post_id == post_id, t.accounts.c.name == account_name)
            ).mappings().first()
        return DeliveryView(row) if row is not None else None

    def pause_account(self, conn: Connection, name: str, reason: str) -> None:
        conn.execute(update(t.accounts).where(t.accounts.c.name == name).values(status="paused", paused_reason=reason))
        self.record(conn, "account.paused", f"account:{name}", {"reason": reason})

    def resume_account(self, conn: Connection, name: str) -> bool:
        """Un-pause an account (its credentials were fixed); False when it was not paused."""
        resumed = conn.execute(update(t.accounts).where(t.accounts.c.name == name, t.accounts.c.status == "paused")
                               .values(status="active", paused_reason=None)).rowcount
        if resumed:
            self.record(conn, "account.resumed", f"account:{name}")
        return bool(resumed)

    # -- the event log -------------------------------------------------------------------------

    def record(self, conn: Connection, kind: str, subject: str | None = None, detail: dict[str, Any] | None = None) -> None:
        """Append to the event log (in the caller's transaction) and log one line."""
        conn.execute(insert(t.events).values(at=self.now(), kind=kind, subject=subject, actor=self.actor, detail=detail))
        log.info(kind, extra={"event": kind, "subject": subject, **({"detail": detail} if detail else {})})

    def record_many(self, conn: Connection, kind: str, events: list[tuple[str | None, dict[str, Any] | None]],
                    at: datetime | None = None) -> None:
        """:meth:`record` for many events of one kind (``(subject, detail)`` each) in one
        executemany, logged as one line with their count: ingest records a task per new follow-up."""
        if not events:
            return
        at = at or self.now()
        conn.execute(insert(t.events), [{"at": at, "kind": kind, "subject": subject, "actor": self.actor, "detail": detail}
                                        for subject, detail in events])
        log.info(kind, extra={"event": kind, "count": len(events)})

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()
        if self._db is not None:
            self._db.dispose()


def _default_actor(workspace: Workspace) -> str:
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "me"
    return user


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)
