"""The public API for plugin authors: everything a plugin may use, from one place.

A plugin imports from here and nowhere else in socialsell (``socialsell.testing`` in its
tests)::

    from socialsell.api import Channel, Published, TransientError, hookimpl

Every name in ``__all__`` is documented field by field in docs/plugins.md and kept working
across releases (docs/plugins.md, "Changes"); every other module of socialsell is private and
may change. An import-linter contract (``make lint``) keeps the built-in plugins to this
module, so they are written exactly as a third-party plugin is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialsell.cli.common import (
    json_option,
    limit_option,
    note_cut,
    parse_id,
    pass_app,
    print_json,
    print_table,
)
from socialsell.clock import utcnow
from socialsell.errors import ConfigError, UsageError
from socialsell.plugins.hookspecs import hookimpl
from socialsell.plugins.views import (
    ContactView,
    DeliveryView,
    EngagementView,
    PostView,
    TaskView,
    View,
)
from socialsell.redact import one_line, redact
from socialsell.settings import Setting
from socialsell.timeparse import format_local
from socialsell.workspace import Account, PluginSettings

if TYPE_CHECKING:  # pragma: no cover - imported at first use (__getattr__ below)
    from socialsell.credentials import (
        delete_tokens,
        keyring_get,
        load_tokens,
        save_tokens,
        token_file,
    )
    from socialsell.plugins.channel import (
        ENGAGEMENT_KINDS,
        SHARE_MODES,
        SIGNAL_KIND,
        AuthError,
        Capabilities,
        Channel,
        ChannelError,
        CheckResult,
        DuplicateContent,
        Engagement,
        Found,
        MediaFile,
        Metrics,
        OurPost,
        Person,
        Published,
        RateLimited,
        Rejected,
        RemotePost,
        ReplyNotAllowed,
        SearchPage,
        SearchQuery,
        SharedPost,
        TransientError,
    )
    from socialsell.plugins.crm import (
        CrmDeal,
        CrmOutbox,
        CrmRecord,
        HandleView,
        OutboxRow,
        outbox_key,
    )
    from socialsell.plugins.jobs import JobContext
    from socialsell.plugins.oauth import LoopbackReceiver
    from socialsell.reports.model import Section, Table, row
    from socialsell.reports.scope import Scope

__all__ = [
    # hooks
    "hookimpl",
    # channels: the interface and the values exchanged with the core
    "Channel",
    "Capabilities",
    "CheckResult",
    "Published",
    "RemotePost",
    "OurPost",
    "Person",
    "Engagement",
    "ENGAGEMENT_KINDS",
    "Metrics",
    "SharedPost",
    "SHARE_MODES",
    # listening: search with a cursor (docs/listening.md)
    "SearchQuery",
    "SearchPage",
    "Found",
    "SIGNAL_KIND",
    "MediaFile",
    # channel errors (docs/plugins.md: what the core does with each)
    "ChannelError",
    "TransientError",
    "RateLimited",
    "AuthError",
    "Rejected",
    "DuplicateContent",
    "ReplyNotAllowed",
    # settings, accounts, secrets and tokens
    "Setting",
    "PluginSettings",
    "Account",
    "save_tokens",
    "load_tokens",
    "delete_tokens",
    "token_file",
    "keyring_get",
    "redact",
    "one_line",
    "LoopbackReceiver",
    # time
    "utcnow",
    "format_local",
    # jobs and event payloads
    "JobContext",
    "View",
    "PostView",
    "DeliveryView",
    "EngagementView",
    "ContactView",
    "TaskView",
    # CRM plugins: the outbox protocol (docs/plugins.md, "CRM plugins")
    "CrmOutbox",
    "OutboxRow",
    "CrmRecord",
    "HandleView",
    "CrmDeal",
    "outbox_key",
    # bad input: one line, exit status 2
    "ConfigError",
    "UsageError",
    # commands (register_commands)
    "pass_app",
    "json_option",
    "limit_option",
    "note_cut",
    "print_json",
    "print_table",
    "parse_id",
    # report sections (register_report_sections)
    "Section",
    "Table",
    "row",
    "Scope",
]

#: the report's types, imported at first use: every plugin imports this module when plugins load,
#: and socialsell.reports adds about 30 ms there (measured with ``-X importtime``), which only
#: ``socialsell report`` needs
_REPORT_NAMES = {"Section": "socialsell.reports.model", "Table": "socialsell.reports.model",
                 "row": "socialsell.reports.model", "Scope": "socialsell.reports.scope"}
#: the CRM protocol, imported at first use for the same reason: socialsell.plugins.crm pulls the
#: sales modules behind the outbox (about 30 ms, ``-X importtime``), which only a CRM sync needs
_CRM_NAMES = dict.fromkeys(("CrmDeal", "CrmOutbox", "CrmRecord", "HandleView", "OutboxRow", "outbox_key"),
                           "socialsell.plugins.crm")

#: the channel interface, its values and errors, tokens and jobs, imported at first use: every
#: plugin's package imports this module for ``hookimpl`` when plugins load, and these modules add
#: about 10 ms there (``-X importtime``: the channel's dataclasses, the loopback receiver's html),
#: which a command that builds no channel (``socialsell report``) never needs; a plugin's channel
#: module imports them when its channel type registers (App.channel_types)
_CHANNEL_NAMES = {
    **dict.fromkeys(("ENGAGEMENT_KINDS", "SHARE_MODES", "SIGNAL_KIND", "AuthError", "Capabilities", "Channel",
                     "ChannelError", "CheckResult", "DuplicateContent", "Engagement", "Found", "MediaFile", "Metrics",
                     "OurPost", "Person", "Published", "RateLimited", "Rejected", "RemotePost", "ReplyNotAllowed",
                     "SearchPage", "SearchQuery", "SharedPost", "TransientError"), "socialsell.plugins.channel"),
    **dict.fromkeys(("delete_tokens", "keyring_get", "load_tokens", "save_tokens", "token_file"), "socialsell.credentials"),
    "JobContext": "socialsell.plugins.jobs",
    "LoopbackReceiver": "socialsell.plugins.oauth",
}


def __getattr__(name: str) -> Any:
    module = _REPORT_NAMES.get(name) or _CRM_NAMES.get(name) or _CHANNEL_NAMES.get(name)
    if module:
        import importlib  # noqa: PLC0415 - with the lazy names above

        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'socialsell.api' has no attribute {name!r}")
