"""Every table socialsell keeps.

SQLAlchemy Core, not the ORM: the hot paths (ingesting engagements, listing tasks) are bulk
statements, and read-only commands stay fast to start. Times are stored as naive UTC and
come back as aware UTC (:class:`UTCDateTime`).

The Alembic migrations (``migrations/versions/0001_baseline.py``, then ``0002_deals.py`` and on)
must create exactly this schema; ``tests/test_storage.py`` compares the two on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from socialsell.redact import redact

#: held while tables are built: jobs of the loop run in threads and may first use a table together
_BUILDING = threading.RLock()


class LazyMetaData(MetaData):
    """The schema's MetaData, whose tables are built when first used.

    Building all the tables costs ~15 ms at import (``-X importtime``, bench/bench_read.py:
    SQLAlchemy's Column and Index set-up), and a read command uses a few of them (``tasks``:
    tasks, contacts, handles). A table defined with ``@_lazy`` is built on first access
    (``schema.tasks``), together with the tables its foreign keys name; looking at the whole
    schema (``metadata.tables``, ``create_all``, Alembic) builds every one first."""

    def __init__(self, **kwargs: Any):
        self._pending: dict[str, Callable[[], Table]] = {}
        self._building = False
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def tables(self) -> Any:
        if self._pending and not self._building:
            with _BUILDING:
                for name in list(self._pending):
                    self.build(name)
        return self._tables

    @tables.setter
    def tables(self, value: Any) -> None:
        self._tables = value

    def build(self, name: str) -> Table:
        """The table defined as ``name`` (its Python name), built now if it was not yet, and
        the tables its foreign keys refer to (so joins and FK column types resolve as if the
        whole schema had been built)."""
        with _BUILDING:
            if name not in self._pending:
                return globals()[name]
            define = self._pending.pop(name)
            building, self._building = self._building, True
            try:
                table = define()
            finally:
                self._building = building
            globals()[name] = table
            for fk in table.foreign_keys:
                target = fk.target_fullname.split(".")[0]
                if target in self._pending:
                    self.build(target)
            return table


metadata = LazyMetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _lazy(define: Callable[[], Table]) -> Callable[[], Table]:
    """Register a table to build on first use (:class:`LazyMetaData`); its Python name is the
    function's without the leading underscore."""
    metadata._pending[define.__name__.removeprefix("_")] = define
    return define


def __getattr__(name: str) -> Table:
    """``schema.tasks``: a table registered with ``@_lazy``, built on first access."""
    with _BUILDING:  # the loop's jobs run in threads: one builds, the others wait and find it built
        if name in metadata._pending or name in globals():
            return metadata.build(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database (the same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: times must be aware (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite raw text (e.g. from an aggregate)
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


class RedactedText(TypeDecorator[str]):
    """Text that may quote a network's answer (an error, a pause reason): redacted on its way
    in, so no secret reaches the database in any form (socialsell.redact)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else redact(value)


class RedactedJSON(TypeDecorator[Any]):
    """JSON whose strings are redacted on their way in (the event log's detail, job errors)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: object) -> Any:
        return redact(value)


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's rowid alias must be INTEGER


def _id() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


# --- channel accounts, cursors, leases ---------------------------------------------------------

@_lazy
def _accounts() -> Table: return Table(
    "accounts",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("channel", String(50), nullable=False),
    Column("handle", String(200)),  # our own handle on the network (never a task)
    Column("remote_user_id", String(100)),
    Column("status", String(20), nullable=False, server_default="active"),  # active | paused
    Column("paused_reason", RedactedText),
    Column("rate_limited_until", UTCDateTime),
    Column("last_poll_at", UTCDateTime),
    Column("last_poll_requests", Integer),
    Column("last_poll_error", RedactedText),
    Column("created_at", UTCDateTime, nullable=False),
)

@_lazy
def _cursors() -> Table: return Table(
    "cursors",
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(50), primary_key=True, server_default="engagements"),
    Column("value", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

@_lazy
def _leases() -> Table: return Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),  # e.g. "poll:sandbox", "job:sla-check"
    Column("holder", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)

@_lazy
def _workers() -> Table: return Table(
    "workers",
    metadata,
    Column("id", String(200), primary_key=True),  # host:pid:random
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Column("jobs", RedactedJSON),  # {job_id: {last_run, next_run, last_error, runs}}
)

# --- marketing: campaigns, posts, deliveries ---------------------------------------------------

@_lazy
def _campaigns() -> Table: return Table(
    "campaigns",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("goal", Text),
    Column("persona", Text),
    Column("starts_on", UTCDateTime),
    Column("ends_on", UTCDateTime),
    Column("channels", JSON),  # account names
    Column("budget", Float),
    Column("utm_campaign", String(200)),
    Column("required_hashtags", JSON),
    Column("disclaimer", Text),
    Column("created_at", UTCDateTime, nullable=False),
    # advocacy (0007): the campaign's posts are shareable by reps unless a post says otherwise
    Column("shareable", Boolean, nullable=False, server_default=text("false")),
)

@_lazy
def _posts() -> Table: return Table(
    "posts",
    metadata,
    _id(),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="SET NULL")),
    Column("template", String(200)),
    Column("variables", JSON),
    Column("text", Text, nullable=False),  # the base text as written or rendered
    Column("link", Text),
    Column("media", JSON),
    Column("author", String(100)),
    Column("recurrence", JSON),  # {"every": "7d", "until": iso, "count": n}
    Column("recurrence_parent_id", ForeignKey("posts.id", ondelete="SET NULL")),
    Column("evergreen", Boolean, nullable=False, server_default=text("false")),
    Column("approved_by", String(100)),
    Column("approved_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # advocacy (0007): reps may share it from their own accounts, with this suggested comment
    Column("shareable", Boolean, nullable=False, server_default=text("false")),
    Column("suggested_comment", Text),
)

@_lazy
def _deliveries() -> Table: return Table(
    "deliveries",
    metadata,
    _id(),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("text", Text, nullable=False),  # the exact text for this channel, as previewed
    # draft | approved | scheduled | sending | unknown | published | failed | missed
    # | needs_attention | cancelled
    Column("status", String(20), nullable=False),
    Column("due_at", UTCDateTime),
    Column("next_attempt_at", UTCDateTime),  # backoff / rate limit: not before this
    Column("claimed_by", String(200)),
    Column("lease_until", UTCDateTime),
    Column("attempt_id", String(64)),  # fences every update after the network call
    Column("attempt_started_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("remote_id", String(200)),
    Column("remote_url", Text),
    Column("published_at", UTCDateTime),
    Column("error", RedactedText),
    # why a delivery is `unknown` (socialsell.loop.publishing.UnknownCause): reconcile decides on
    # this, never on the text of `error`
    Column("unknown_cause", String(20)),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("post_id", "account_id"),
    # one published post per remote id: a reconcile can never claim the same remote post twice
    Index("ix_deliveries_remote", "account_id", "remote_id", unique=True),
    Index("ix_deliveries_due", "status", "due_at"),
)

@_lazy
def _shares() -> Table: return Table(
    "shares",
    metadata,
    # the delivery that publishes the share, on the rep's own account (exactly once, like any)
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("rep", String(100), nullable=False),  # whose share it is (a [team] name)
    # the brand's published delivery it reposts or quotes; null when it links to the post
    Column("target_delivery_id", ForeignKey("deliveries.id", ondelete="SET NULL")),
    Column("target_remote_id", String(200)),  # the brand post's id on the network, as shared
    Column("target_url", Text),  # its public link (what a "link" share carries)
    Column("mode", String(10), nullable=False),  # repost | quote | link (Channel.share_modes)
    Column("comment", Text),  # the rep's own words ("my take"), or the suggested comment
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_shares_rep", "rep"),
)
"""A rep's share of a brand post from their own account (docs/advocacy.md): the delivery it
publishes through, and what it shares. Engagements on it go to the rep."""

@_lazy
def _post_metrics() -> Table: return Table(
    "post_metrics",
    metadata,
    _id(),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("impressions", Integer),
    Column("reach", Integer),
    Column("likes", Integer),
    Column("replies", Integer),
    Column("reposts", Integer),
    Column("quotes", Integer),
    Column("clicks", Integer),
    Column("profile_clicks", Integer),
    Column("extra", JSON),
    Index("ix_post_metrics_delivery", "delivery_id", "fetched_at"),
)

# --- sales: contacts, handles, engagements, tasks, notes -----------------------------------------

@_lazy
def _contacts() -> Table: return Table(
    "contacts",
    metadata,
    _id(),
    Column("display_name", String(300)),
    Column("headline", Text),
    Column("company", String(300)),
    Column("location", String(300)),
    Column("email", String(300)),
    # engaged | lead | qualified | opportunity | customer | disqualified
    Column("stage", String(20), nullable=False, server_default="engaged"),
    Column("owner", String(100)),
    Column("score", Float, nullable=False, server_default="0"),
    Column("score_explained", JSON),  # [[reason, points], ...] (before 0004; now computed on read)
    # incremental score (0004): engagement points decayed to scored_at; NULL scored_at: not yet
    # kept incrementally (the first touch computes it from the history once)
    Column("score_points", Float, nullable=False, server_default="0"),
    Column("scored_at", UTCDateTime),
    Column("merged_into", ForeignKey("contacts.id")),
    Column("origin", String(400)),  # "channel:handle" where we first met them
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_contacts_owner", "owner"),
)

@_lazy
def _handles() -> Table: return Table(
    "handles",
    metadata,
    _id(),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("channel", String(50), nullable=False),
    Column("handle", String(300), nullable=False),
    Column("remote_user_id", String(200)),
    Column("name", String(300)),
    Column("profile_url", Text),
    Column("headline", Text),
    Column("followers", Integer),
    # what the network says about the person (0002): X description / LinkedIn headline text,
    # verified badge, free-text location, company where known; kind is "person" or
    # "organization" (a LinkedIn page), so the lead rules can tell them apart
    Column("bio", Text),
    Column("verified", Boolean),
    Column("location", String(300)),
    Column("company", String(300)),
    Column("kind", String(20)),
    UniqueConstraint("channel", "handle"),
    Index("ix_handles_contact", "contact_id"),
)

@_lazy
def _engagements() -> Table: return Table(
    "engagements",
    metadata,
    _id(),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("contact_id", ForeignKey("contacts.id")),
    Column("handle_id", ForeignKey("handles.id")),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="SET NULL")),
    Column("task_id", ForeignKey("tasks.id", ondelete="SET NULL")),
    Column("text", Text),
    Column("url", Text),
    Column("post_remote_id", String(200)),
    Column("in_reply_to", String(200)),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
    Column("points", Float),
    Column("ignored", String(50)),  # why it made no task: own account, ignore list...
    Column("raw", JSON),
    UniqueConstraint("account_id", "external_id", "kind", name="uq_engagements_once"),
    Index("ix_engagements_contact", "contact_id", "occurred_at"),
    Index("ix_engagements_delivery", "delivery_id"),
)

@_lazy
def _tasks() -> Table: return Table(
    "tasks",
    metadata,
    _id(),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("owner", String(100)),
    Column(
        "status", String(20), nullable=False, server_default="open"
    ),  # open|snoozed|done|dismissed
    Column("priority", Integer, nullable=False, server_default="3"),  # 1 highest .. 4 lowest
    Column("score", Float, nullable=False, server_default="0"),
    Column("reason", Text),  # why the task exists, one line
    Column("intent", Boolean, nullable=False, server_default=text("false")),
    Column("due_at", UTCDateTime, nullable=False),
    # the first-touch deadline (0005): set when the task opens (response_hours, or
    # high_intent_hours with intent, in business hours; earlier if intent arrives before the
    # first touch) and never moved by a next step, which moves due_at; the SLA report judges
    # the first touch against it. Null only for tasks moved to a next step before 0005.
    Column("sla_due_at", UTCDateTime),
    Column("snoozed_until", UTCDateTime),
    Column("first_engagement_id", BigInteger),
    Column("last_engagement_at", UTCDateTime),
    Column("outcome", String(30)),
    Column("amount", Float),
    Column("closed_by", String(100)),
    Column("closed_at", UTCDateTime),
    Column("replied_at", UTCDateTime),  # the first reply sent on the channel
    # the first response of any kind stops the SLA clock (0002): the first reply, a logged
    # touch off the channel (call, email, dm, meeting) or an outcome; kind says which
    Column("first_response_at", UTCDateTime),
    Column("first_response_kind", String(20)),  # reply | call | email | dm | meeting | outcome
    # after the first response the task is due at its next step (if any), not at the SLA
    Column("next_step", Text),  # one line: "meeting with Dana", "send the proposal"
    Column("next_step_due", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # invariant 3: one open task per contact
    Index(
        "uq_tasks_one_open",
        "contact_id",
        unique=True,
        sqlite_where=text("status IN ('open', 'snoozed')"),
        # postgresql_where is added by use_postgresql_options(): naming it here would import
        # the PostgreSQL dialect (~50 ms) in every command, PostgreSQL or not
    ),
    Index("ix_tasks_owner_status", "owner", "status", "due_at"),
)

@_lazy
def _sla_alerts() -> Table: return Table(
    "sla_alerts",
    metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("level", String(20), primary_key=True),  # overdue | escalated
    Column("at", UTCDateTime, nullable=False),
)

@_lazy
def _notes() -> Table: return Table(
    "notes",
    metadata,
    _id(),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("task_id", ForeignKey("tasks.id", ondelete="SET NULL")),
    Column("author", String(100)),
    Column("kind", String(20), nullable=False),  # note | insight | outcome | reply
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_notes_contact", "contact_id"),
)

# --- sales: deals and what started them --------------------------------------------------------

@_lazy
def _deals() -> Table: return Table(
    "deals",
    metadata,
    _id(),
    # the person (or company contact) the deal is with; a merged contact's deals move with it
    Column("contact_id", ForeignKey("contacts.id"), nullable=False),
    Column("owner", String(100)),  # the rep who carries the deal (a [team] name)
    Column("title", String(300), nullable=False),  # one line, e.g. "Dana Whitfield (Acme)"
    # the value: an estimate while open, the signed amount once won; NUMERIC so sums in SQL are
    # exact, returned to Python as float
    Column("amount", Numeric(14, 2, asdecimal=False)),
    Column("currency", String(3), nullable=False, server_default="EUR"),  # ISO 4217
    # discovery | proposal | negotiation (open) | won | lost (closed): see socialsell/sales/deals.py
    Column("stage", String(20), nullable=False, server_default="discovery"),
    Column("expected_close", Date),  # the rep's estimate of the closing day (no time)
    Column("opened_at", UTCDateTime, nullable=False),  # when the deal was opened
    Column("closed_at", UTCDateTime),  # when it was won or lost; null while open
    Column("lost_reason", Text),  # why it was lost (required by `deal lost`)
    # the follow-up task the deal came from (null for a deal opened by hand with no task)
    Column("task_id", ForeignKey("tasks.id", ondelete="SET NULL")),
    # the campaign of the first post that started the conversation, fixed when the deal opens
    # (never recomputed: revenue is attributed to what was true at the time)
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="SET NULL")),
    # where the deal lives: "socialsell" for deals made here, or an external CRM's name
    Column("source", String(50), nullable=False, server_default="socialsell"),
    Column("external_id", String(200)),  # the id in that CRM, once synced (null until then)
    Column("created_by", String(100)),  # who opened it (a [team] name, or "worker")
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("source", "external_id", name="uq_deals_external"),
    Index("ix_deals_owner_stage", "owner", "stage"),
    Index("ix_deals_contact", "contact_id"),
    # "was a deal opened from this follow-up?" (0005): the reports ask it of every closed one
    Index("ix_deals_task", "task_id"),
)
"""A sales opportunity with one contact, from opening to won or lost.

Stages: ``discovery``, ``proposal``, ``negotiation`` are open; ``won`` and ``lost`` are closed
(``closed_at`` set; ``lost_reason`` for lost). The contact's stage follows its deals
(``opportunity`` while one is open, ``customer`` once one is won).
"""

@_lazy
def _deal_posts() -> Table: return Table(
    "deal_posts",
    metadata,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    # 1 = the post that started the conversation, then in order of first touch: first-touch
    # attribution is position 1, last-touch the highest position, linear 1/count per row
    Column("position", Integer, nullable=False),
    Column(
        "first_touch_at", UTCDateTime, nullable=False
    ),  # this contact's first engagement with it
    Column(
        "last_touch_at", UTCDateTime, nullable=False
    ),  # ... and the last one before the deal opened
    Column(
        "touches", Integer, nullable=False
    ),  # how many engagements (likes, replies...) in between
)
"""The posts whose engagements by the deal's contact started and moved the conversation.

Written once, when the deal opens, from the contact's engagements up to that moment (merged
contacts included), and never changed after: a later engagement does not rewrite history.
"""

@_lazy
def _contact_merges() -> Table: return Table(
    "contact_merges",
    metadata,
    _id(),
    Column("kept_id", ForeignKey("contacts.id"), nullable=False),  # the contact that remains
    Column("merged_id", ForeignKey("contacts.id"), nullable=False),  # the one folded into it
    Column("merged_by", String(100)),
    Column("merged_at", UTCDateTime, nullable=False),
    # what moved, so `contact unmerge` can put it back: ids of handles, engagements, tasks,
    # notes and deals moved, task statuses changed, and the kept contact's fields before
    Column("moved", JSON, nullable=False),
    Column("undone_by", String(100)),
    Column("undone_at", UTCDateTime),
    Index("ix_contact_merges_merged", "merged_id"),
)
"""One merge of two contacts, kept so it can be undone (``contact unmerge``)."""

# --- the event log ------------------------------------------------------------------------------

@_lazy
def _events() -> Table: return Table(
    "events",
    metadata,
    _id(),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("subject", String(200)),  # e.g. "delivery:12", "task:3", "account:x"
    Column("actor", String(200)),  # a rep, or a worker id
    Column("detail", RedactedJSON),
    Index("ix_events_kind_at", "kind", "at"),
)


def use_postgresql_options() -> None:
    """Give the partial indexes their PostgreSQL predicate (called when a PostgreSQL engine is made)."""
    for table in metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options["sqlite"]["where"]
            if where is not None:
                index.dialect_options["postgresql"]["where"] = where

# --- CRM sync: the outbox and each CRM's state ---------------------------------------------------

@_lazy
def _crm_outbox() -> Table: return Table(
    "crm_outbox",
    metadata,
    _id(),
    Column("crm", String(50), nullable=False),  # the CRM plugin's name, e.g. "hubspot"
    # what to send: contact (a socialsell contact), task (a follow-up), note (an engagement)
    Column("kind", String(20), nullable=False),
    Column("local_id", BigInteger, nullable=False),  # contacts.id, tasks.id or engagements.id
    # pending (to send) | sending (an attempt is under way, or died: its outcome is unknown) |
    # done (the CRM has it; external_id set) | failed (the CRM refused it; error says why)
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("external_id", String(200)),  # the object's id in the CRM, stored when done
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("attempt_started_at", UTCDateTime),  # set and committed before each call to the CRM
    Column("next_attempt_at", UTCDateTime),  # backoff after a server error: not before this
    Column("error", Text),  # the last failure, one line, secrets removed
    Column("synced_at", UTCDateTime),  # when the CRM last acknowledged it
    # the object's updated_at as sent: a done row whose object's differs is sent again (0008)
    Column("sent_version", UTCDateTime),
    # the CRM id of the contact a task or note was attached to when sent: a merge changes it (0008)
    Column("parent_external_id", String(200)),
    Column("pulled_at", UTCDateTime),  # a contact's deals read in full (once after linking) (0008)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # idempotency: one row per (crm, kind, local id), whoever enqueues it and however often
    UniqueConstraint("crm", "kind", "local_id", name="uq_crm_outbox_key"),
    Index("ix_crm_outbox_status", "crm", "status", "next_attempt_at"),
)
"""One change for a CRM to receive, and the CRM's id for it once received (docs/crm.md)."""

@_lazy
def _crm_state() -> Table: return Table(
    "crm_state",
    metadata,
    Column("crm", String(50), primary_key=True),
    Column("status", String(20), nullable=False, server_default="active"),  # active | paused
    Column("paused_reason", Text),  # why (e.g. the token was refused), secrets removed
    Column("rate_limited_until", UTCDateTime),  # the CRM's limit: no call before this
    Column("last_sync_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_deals_at", UTCDateTime),  # when deals were last read back
    Column("deals_cursor", Text),  # where reading the CRM's changed deals stopped, opaque (0008)
    Column("updated_at", UTCDateTime, nullable=False),
)
"""Each CRM's sync health: paused on refused credentials, rate limited, last run (``status``)."""

# --- listening (docs/listening.md) -------------------------------------------------------------

@_lazy
def _signals() -> Table: return Table(
    "signals",
    metadata,
    _id(),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),  # the account whose search found it
    Column("stream", String(100), nullable=False),  # the [[listen]] stream that found it first
    Column("external_id", String(200), nullable=False),  # the post's id on the network
    Column("handle", String(300), nullable=False),  # who wrote it
    Column("person", JSON),  # what the network says about them (name, headline, company, followers...)
    Column("text", Text),
    Column("url", Text),
    Column("lang", String(10)),
    Column("thread_id", String(200)),  # the conversation it belongs to (one reply per person and thread)
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("found_at", UTCDateTime, nullable=False),
    Column("term", String(300)),  # the query term it matched, as written: word, "phrase", #tag, @handle
    Column("points", Float, nullable=False, server_default="0"),  # its score: the lead rules plus the stream's weight
    Column("score_lines", JSON),  # the score explained, line by line
    # new (waits for triage) | promoted (a follow-up: task_id) | dismissed | ignored (our own, the ignore list)
    Column("status", String(20), nullable=False, server_default="new"),
    Column("decided_by", String(100)),  # who promoted or dismissed it ("listening": above the task threshold)
    Column("decided_at", UTCDateTime),
    Column("task_id", ForeignKey("tasks.id", ondelete="SET NULL")),
    Column("insight", Text),  # `signal tag`: a market or competitor insight for the report's feedback section
    Column("insight_about", String(20)),  # market | competitor
    Column("tagged_by", String(100)),
    Column("tagged_at", UTCDateTime),
    Column("replied_at", UTCDateTime),  # the first reply sent to it (`signal reply`)
    Column("raw", JSON),  # the channel's own fields (what a reply needs: Bluesky's uri and cid)
    # stored once per account and post, however many streams or sweeps find it (like invariant 2)
    UniqueConstraint("account_id", "external_id", name="uq_signals_once"),
    Index("ix_signals_status", "status", "points"),
    Index("ix_signals_stream", "stream", "found_at"),
)
"""One public post a listening stream found: waiting for triage, promoted to a follow-up, or dismissed."""

@_lazy
def _listen_cursors() -> Table: return Table(
    "listen_cursors",
    metadata,
    Column("stream", String(100), primary_key=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("value", Text),  # the channel's opaque search cursor, committed with the matches it covers
    Column("last_run_at", UTCDateTime),
    Column("last_error", RedactedText),  # the last failed search, one line
    Column("updated_at", UTCDateTime, nullable=False),
)
"""Where each stream's search stands on each account."""

@_lazy
def _listen_spend() -> Table: return Table(
    "listen_spend",
    metadata,
    Column("stream", String(100), primary_key=True),
    Column("month", String(7), primary_key=True),  # UTC calendar month, "2026-12"
    # reads reserved before each request (its page size) and settled to what the network billed
    # after it, so a crash mid-request never lets the month's spend pass the budget
    Column("reads", Integer, nullable=False, server_default="0"),
    Column("requests", Integer, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""Each stream's reads per month, against ``[[listen]] monthly_reads``."""
