"""``socialsell crm sync`` / ``crm status``, and the loop's sync job."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import click

from socialsell.api import (
    CrmOutbox,
    UsageError,
    format_local,
    json_option,
    pass_app,
    print_json,
    print_table,
)

from .settings import configured, load_settings
from .setup import setup
from .sync import CRM, plan, sync

log = logging.getLogger("socialsell.hubspot")


@click.group()
def crm() -> None:
    """Sync with the CRM (HubSpot): contacts, tasks and notes out, deals back."""


def _counts(what: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(what.items())) or "nothing"


@crm.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; call nothing, change nothing.")
@json_option
@pass_app
def crm_sync(app, dry_run: bool, as_json: bool) -> None:
    """Send what changed to HubSpot now and read deals back (also lifts a pause after a refused token)."""
    load_settings(app)  # a missing or raw token is a usage error, before anything else
    now = app.now()
    if dry_run:
        result = plan(app, now)
        if as_json:
            print_json([{"id": CRM, **asdict(result)}])
            return
        if result.skipped:
            click.echo(f"HubSpot sync is {result.skipped}")
        print_table(["outbox key", "kind", "local id", "would"],
                    [(p["id"], p["kind"], p["local_id"], p["action"]) for p in result.planned],
                    title="would send (dry run: nothing sent, nothing changed)", empty="nothing to send")
        return
    # host:pid:tag, like a worker id: a killed `crm sync` leaves a lease the next one takes over at once
    result = sync(app, now, holder=f"{socket.gethostname()}:{os.getpid()}:crm-sync", resume=True)
    if as_json:
        print_json([{"id": CRM, **asdict(result)}])
    elif result.skipped:
        click.echo(f"HubSpot: nothing sent ({result.skipped})")
    else:
        click.echo(f"HubSpot: created {_counts(result.created)}; matched {_counts(result.matched)}; "
                   f"updated {_counts(result.updated)}; "
                   + (f"moved {_counts(result.moved)} to the merged contact; " if result.moved else "")
                   + f"{result.deals} deal(s) read; {result.retrying} to retry, "
                   f"{result.failed} refused; {result.requests} request(s)")
    if result.stopped:
        click.echo(f"HubSpot stopped: {result.stopped}", err=True)
        raise SystemExit(1)


@crm.command("setup")
@click.option("--dry-run", is_flag=True, help="Only read HubSpot's properties and list what would be created.")
@json_option
@pass_app
def crm_setup(app, dry_run: bool, as_json: bool) -> None:
    """Create in HubSpot the custom properties the sync writes (those that exist are left alone)."""
    load_settings(app)
    rows = setup(app, app.now(), dry_run=dry_run)
    if as_json:
        print_json(rows)
        return
    print_table(["object", "property", "status"], [(r["object"], r["name"], r["status"]) for r in rows],
                title="HubSpot custom properties" + (" (dry run: nothing created)" if dry_run else ""))


def collect(app) -> dict[str, Any]:
    """The sync's state and outbox counts (``crm status``)."""
    outbox = CrmOutbox(app, CRM)
    state = outbox.state()
    state.pop("deals_cursor", None)  # the read position: the plugin's, not the user's
    return {"id": CRM, "configured": configured(app), **state, "outbox": outbox.counts(), "deals": outbox.deal_totals()}


@crm.command("status")
@json_option
@pass_app
def crm_status(app, as_json: bool) -> None:
    """The sync's health and what is waiting in the outbox."""
    info = collect(app)
    if as_json:
        print_json([info])
        return
    def local(at) -> str:
        return format_local(at, app.workspace.timezone, "%a %d %b %H:%M") if at else "never"

    line = f"hubspot: {info['status']}" + (f" ({info['paused_reason']})" if info["paused_reason"] else "")
    if info["rate_limited_until"] and info["rate_limited_until"] > app.now():
        line += f", rate limited until {local(info['rate_limited_until'])}"
    if not info["configured"]:
        line += " (no [hubspot] section: not syncing)"
    click.echo(line + f"; last sync {local(info['last_sync_at'])}")
    statuses = ("pending", "sending", "done", "failed")
    print_table(["kind", *statuses], [(k, *(info["outbox"].get(k, {}).get(s, 0) for s in statuses))
                                      for k in info["outbox"]], title="outbox")
    if info["deals"]:
        click.echo("deals read from HubSpot: " + ", ".join(
            f"{v['count']} {stage} ({v['amount']:,.2f})" for stage, v in sorted(info["deals"].items())))
    if info["last_error"]:
        click.echo(f"last error: {info['last_error']}")


def job_crm_sync(ctx) -> dict[str, Any] | None:
    """The loop's job: one pass every ``sync_seconds`` when a [hubspot] section exists (a pause is
    lifted by hand only)."""
    if not configured(ctx.app):
        return None
    outbox = CrmOutbox(ctx.app, CRM)
    try:
        settings = load_settings(ctx.app)
    except UsageError as e:  # no token at its reference yet: the loop goes on; `crm status` says why
        outbox.set_state(ctx.now, last_error=str(e))
        log.warning("hubspot sync skipped: %s", e)
        return {"skipped": str(e)}
    last = outbox.state()["last_sync_at"]
    if last is not None and ctx.now < last + timedelta(seconds=settings.sync_seconds):
        return None
    result = sync(ctx.app, ctx.now, holder=ctx.worker)
    if result.stopped:
        log.warning("hubspot sync stopped: %s", result.stopped)
    return asdict(result)
