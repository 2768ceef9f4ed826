"""The hooks a socialsell plugin can implement.

Both markers live here. A plugin writes::

    from socialsell import hookimpl

    @hookimpl
    def register_channels(register):
        register("mastodon", MastodonChannel)

Every hook is documented in ``docs/plugins.md`` (a test checks that each one is).
Hooks are called by the core only, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    import click

    from socialsell.plugins.channel import Channel
    from socialsell.plugins.views import (
        ContactView,
        DeliveryView,
        EngagementView,
        PostView,
        TaskView,
    )

hookspec = HookspecMarker("socialsell")
hookimpl = HookimplMarker("socialsell")


# --- registries -----------------------------------------------------------------------------


@hookspec
def register_channels(register: Callable[[str, type[Channel]], None]) -> None:
    """Register channel types that channel accounts in ``socialsell.toml`` can use.

    :param register: call ``register(name, channel_class)`` once per channel type; ``name`` is
        what an account's ``channel = "..."`` names, ``channel_class`` a subclass of
        :class:`socialsell.plugins.channel.Channel`. Import network libraries inside the class, not at
        module top, so that read-only commands never pay for them.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``socialsell`` command line.

    :param cli: the top-level click group; call ``cli.add_command(...)`` or decorate with
        ``@cli.command()``.
    """


@hookspec
def register_jobs(register: Callable[..., None]) -> None:
    """Add periodic jobs to ``socialsell run``.

    :param register: call ``register(job_id, func, seconds=N)``; ``func(ctx)`` receives a
        :class:`socialsell.api.JobContext` (``app``, ``worker``, ``now``). Every worker runs the
        same jobs, so a job must claim its work in the database, not assume it runs alone.
    """


@hookspec
def register_settings(register: Callable[..., None]) -> None:
    """Declare the plugin's own section of ``socialsell.toml``.

    :param register: call ``register(section, settings)``: ``section`` is the table's name,
        the plugin's entry-point name (``[hubspot]`` for the hubspot plugin); ``settings`` a list
        of :class:`socialsell.api.Setting`. The section is then checked like the core's (an
        unknown key refused with a did-you-mean, types, required keys, secrets as references)
        and read with ``app.plugin_settings(section)``. A channel declares its accounts' keys
        with ``Channel.settings`` instead.
    """


@hookspec
def register_report_sections(register: Callable[..., None]) -> None:
    """Add a section to ``socialsell report`` (docs/reports.md).

    :param register: call ``register(name, compute)``; ``compute(app, scope)`` returns a
        :class:`socialsell.reports.Section` whose tables hold rows made with
        :func:`socialsell.reports.row` (each with an id unique in the report). ``scope`` is a
        :class:`socialsell.reports.Scope`: the period (``since``, ``until``, UTC), the filters and
        ``in_period(column)`` for SQL. The section is shown after the built-in ones, is chosen with
        ``--section NAME``, and is rendered in every format. Aggregate in SQL: the report is read on
        big workspaces.
    """


# --- leads and owners -----------------------------------------------------------------------


@hookspec
def score_engagement(engagement: dict[str, Any], contact: dict[str, Any]) -> list[tuple[str, float]] | None:
    """Contribute to the lead score of the contact behind an engagement.

    Results of every implementation are summed into the contact's score, and each
    ``(reason, points)`` line is shown by ``contact show`` to explain it.

    :param engagement: the normalised engagement (``kind``, ``text``, ``channel``, ``occurred_at``...).
    :param contact: the contact as stored (``display_name``, ``headline``, ``company``...).
    :return: a list of ``(reason, points)`` pairs, or None to contribute nothing.
    """


@hookspec(firstresult=True)
def qualify_lead(contact: dict[str, Any], score: float, engagements: list[dict[str, Any]]) -> str | None:
    """Decide the lifecycle stage a contact's score earns it.

    Stops at the first non-None result.

    :param contact: the contact as stored.
    :param score: its current score.
    :param engagements: its engagements, newest first.
    :return: ``"engaged"``, ``"lead"``, ``"qualified"`` or ``"disqualified"``, or None to let the
        configured thresholds decide.
    """


@hookspec(firstresult=True)
def assign_owner(contact: dict[str, Any], engagement: dict[str, Any], team: list[str]) -> str | None:
    """Choose the rep who owns a new follow-up task.

    Stops at the first non-None result.

    :param contact: the contact as stored (its ``owner`` may already be set).
    :param engagement: the engagement that created the task.
    :param team: the names of the reps in the workspace's team.
    :return: a rep's name, or None to fall through to the routing rules and round-robin.
    """


# --- events ---------------------------------------------------------------------------------
# Events receive frozen, documented views (socialsell.plugins.views), never table rows.


@hookspec
def post_published(post: PostView, delivery: DeliveryView) -> None:
    """A post went out on one channel account.

    :param post: the post (``id``, ``text``, ``campaign_id``...).
    :param delivery: its delivery on that account (``account``, ``remote_id``, ``remote_url``...).
    """


@hookspec
def post_failed(post: PostView, delivery: DeliveryView, reason: str) -> None:
    """A post's delivery ended ``failed``, ``missed`` or ``needs_attention``.

    :param post: the post.
    :param delivery: the delivery, with its final ``status``.
    :param reason: why, in the channel's own words where it gave any.
    """


@hookspec
def engagement_ingested(engagement: EngagementView, contact: ContactView) -> None:
    """A new engagement was stored (called once per engagement, after commit).

    :param engagement: the engagement as stored (its documented fields).
    :param contact: the contact it was attached to.
    """


@hookspec
def task_created(task: TaskView, contact: ContactView) -> None:
    """A follow-up task was opened for a contact.

    :param task: the task (``id``, ``owner``, ``due_at``, ``priority``...).
    :param contact: its contact.
    """


@hookspec
def task_closed(task: TaskView, outcome: str, amount: float | None) -> None:
    """A follow-up task was closed by a rep.

    :param task: the task as it was closed.
    :param outcome: e.g. ``replied``, ``meeting``, ``won``, ``lost``, ``not_interested``.
    :param amount: the amount won, for ``won``; otherwise None.
    """


@hookspec
def sla_breached(task: TaskView, level: str) -> None:
    """A follow-up task passed its response time. Called once per task and level.

    :param task: the task, with its ``owner`` and ``due_at``.
    :param level: ``"overdue"`` when the due time passed, ``"escalated"`` when the escalation
        time passed too.
    """


@hookspec
def account_paused(account: str, reason: str) -> None:
    """A channel account was paused because its credentials stopped working.

    :param account: the account's name in ``socialsell.toml``.
    :param reason: what the channel said, with secrets removed.
    """
