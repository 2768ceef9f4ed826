"""Workspace and operations commands: init, demo, run, status, plugins, channels."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import click

from socialsell.app import App
from socialsell.cli.common import (
    State,
    handle_errors,
    json_option,
    pass_app,
    print_json,
    print_table,
)
from socialsell.errors import RuntimeFailure, UsageError
from socialsell.loop.status import collect_status
from socialsell.plugins.channel import Channel
from socialsell.redact import one_line
from socialsell.timeparse import format_local
from socialsell.workspace import init_workspace, local_timezone

#: finished workers ``status`` lists (one line each); --json has the last 20
FINISHED_SHOWN = 5


def register(cli: click.Group) -> None:
    for command in (init, demo, run, status, plugins, channels):
        cli.add_command(command)


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Workspace name (default: the folder's name).")
@click.option("--timezone", "tz", help="IANA time zone (default: this machine's).")
@click.option("--force", is_flag=True, help="Overwrite an existing socialsell.toml.")
@click.pass_obj
@handle_errors
def init(state: State, directory: Path, name: str | None, tz: str | None, force: bool) -> None:
    """Create a workspace: socialsell.toml, templates/ and the database."""

    config = init_workspace(directory, name=name, timezone=tz or local_timezone(), force=force)
    app = App.load(str(config), state.db_url, pm=state.pm, clock=state.cli.clock)
    app.account_ids()  # creates the database and the account rows
    click.echo(f"Created {config}")
    click.echo(f"  templates:  {config.parent / 'templates'}")
    click.echo(f"  database:   {app.workspace.db_url}")
    click.echo("Next (the sandbox is a simulated network: no credentials needed):")
    click.echo(f"  cd {directory}")
    click.echo('  socialsell post new --channel sandbox --template product-launch --var product=Acme --at now')
    click.echo("  socialsell run --once         # publishes it")
    click.echo('  socialsell sandbox engage --post 1 --kind comment --from @dana --text "Pricing?"')
    click.echo("  socialsell run --once && socialsell tasks --all")


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the demo workspace here (default: a temporary folder).")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 60), help="Simulated days to run.")
@click.pass_obj
@handle_errors
def demo(state: State, directory: Path | None, days: int) -> None:
    """Run socialsell end to end on the sandbox channel over simulated time, then report."""
    from socialsell.demo import run_demo  # noqa: PLC0415 - `socialsell status` (a read command) does not load socialsell.demo; kept off its path

    run_demo(directory, days=days, pm=state.pm, echo=click.echo, now=state.cli.clock() if state.cli.clock else None)


@click.command()
@click.option("--once", is_flag=True, help="One pass of every job, then exit (for cron and CI).")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@pass_app
def run(app, once: bool, log_json: bool, verbose: bool) -> None:
    """Run the loop: publish due posts, poll channels, check SLAs, refresh metrics."""
    from socialsell.logs import setup_logging  # noqa: PLC0415 - `socialsell status` (a read command) does not load socialsell.logs; kept off its path
    from socialsell.loop.worker import Worker, run_forever, run_once  # noqa: PLC0415 - `socialsell status` (a read command) does not load socialsell.loop.worker; kept off its path

    setup_logging(json_lines=log_json, level=logging.DEBUG if verbose else logging.INFO)
    if app.settings.listen:  # a stream on a channel that cannot search is refused before anything runs
        from socialsell.loop.listening import stream_problems  # noqa: PLC0415 - listening's loop module only for a config with [[listen]]

        problems = [p for stream in app.settings.listen for p in stream_problems(app, stream)]
        if problems:
            raise UsageError(f"{app.workspace.config_path.name}: {problems[0]}")
    worker = Worker(app)
    if once:
        results = run_once(app, worker)
        pub = results.get("publish")
        if pub is not None:
            click.echo(f"published {len(pub.published)}, failed {len(pub.failed)}, deferred {len(pub.deferred)}, "
                       f"unknown {len(pub.unknown)}, missed {len(pub.missed)}")
        for job_id, r in results.items():
            if job_id.startswith("poll:") and r is not None:
                what = r.skipped or r.error or f"{r.new} new engagements, {r.tasks_created} new tasks, {r.requests} requests"
                click.echo(one_line(f"{job_id}: {what}"))
            if job_id.startswith("listen:") and r is not None:
                for rep in r:
                    what = rep.skipped or rep.error or (f"{rep.stored} new signals, {rep.promoted} follow-ups, "
                                                        f"{rep.reads} reads, {rep.requests} requests")
                    click.echo(one_line(f"{job_id} on {rep.account}: {what}"))
        from socialsell.loop.failures import pass_failures  # noqa: PLC0415 - the loop's failure report only for run --once

        failures = pass_failures(app, worker, results, app.now())
        for line in failures:  # never silent: one line each, and the exit status says it
            click.echo(f"Error: {one_line(line)}", err=True)
        if failures:
            raise SystemExit(1)
        return
    click.echo(f"socialsell worker {worker.id} running (Ctrl-C to stop)", err=True)
    run_forever(app, worker)


@click.command()
@json_option
@pass_app
def status(app, as_json: bool) -> None:
    """Loop health: workers, jobs, channel accounts, queue depth, errors."""

    info = collect_status(app)
    if as_json:
        print_json([info])  # like every --json: a list of objects with an id (here, the workspace)
        return

    def local(value: datetime | str | None, default: str = "") -> str:
        """Invariant 6: people read times in the workspace's zone (--json keeps UTC ISO)."""
        if not value:
            return default
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_local(at, app.workspace.timezone, "%a %d %b %H:%M:%S")

    q = info["queue"]
    sqlite_lib = f", sqlite library {info['sqlite_library']}" if info["sqlite_library"] else ""
    click.echo(f"workspace {info['workspace']}  ({info['database']}, {info['database_version']}{sqlite_lib}), "
               f"times in {app.workspace.timezone.key}")
    click.echo(f"queue: {q['depth']} in the queue, {q['due_now']} due now, next due {local(q['next_due_at'], 'none')}; "
               f"{q['sending']} sending, {q['unknown']} unknown, {q['needs_attention']} need attention, "
               f"{q['failed']} failed, {q['missed']} missed")
    for c in info["crm"]:  # one line per CRM sync, only when it needs someone (docs/crm.md)
        if c["status"] == "paused":
            click.echo(f"crm {c['name']}: paused: {c['paused_reason']}")
        elif c["rate_limited"]:
            click.echo(f"crm {c['name']}: rate limited until {local(c['rate_limited_until'])}")
    print_table(["account", "channel", "status", "last poll", "requests", "error"],
                [(a["name"], a["channel"],
                  a["status"] + (f", rate limited until {local(a['rate_limited_until'])}" if a["rate_limited"] else ""),
                  local(a["last_poll_at"], "never"), a["last_poll_requests"], a["error"] or "") for a in info["accounts"]],
                title="channel accounts", one_line=True)  # a failure is one line here; --json has it whole
    if info["listening"]:
        print_table(["stream", "accounts", "reads this month", "budget", "last run", "next run", "error"],
                    [(s["name"], ", ".join(s["accounts"]), f"{s['reads']:,}", f"{s['monthly_reads']:,}",
                      local(s["last_run_at"], "never"), local(s["next_run_at"], "at the next loop pass"), s["error"] or "")
                     for s in info["listening"]], title=f"listening ({info['listening'][0]['month']}, UTC)", one_line=True)
    running = [w for w in info["workers"] if w["stopped_at"] is None]
    finished = [w for w in info["workers"] if w["stopped_at"] is not None]
    if running or not finished:
        print_table(["worker", "heartbeat", "alive", "job", "last run", "next run", "last error"],
                    [(w["id"], local(w["heartbeat_at"]), "yes" if w["alive"] else "no", j["id"], local(j["last_run"], "never"),
                      local(j["next_run"]), j["last_error"] or "")
                     for w in running for j in (w["jobs"] or [{"id": "", "last_run": None, "next_run": None, "last_error": None}])],
                    title="workers", empty="no worker has run yet: socialsell run", one_line=True)
    for w in finished[:FINISHED_SHOWN]:  # finished workers (--once passes, stopped loops): one line each
        failed = [j["id"] for j in w["jobs"] if j["last_error"]]
        click.echo(f"finished {w['id']} at {local(w['stopped_at'])}: {len(w['jobs'])} jobs ran"
                   + (f", failed: {', '.join(failed)}" if failed else ""))
    if len(finished) > FINISHED_SHOWN:
        click.echo(f"... and {len(finished) - FINISHED_SHOWN} more finished workers (socialsell status --json)")


@click.command()
@json_option
@click.pass_obj
@handle_errors
def plugins(state: State, as_json: bool) -> None:
    """Installed plugins and the hooks each implements."""
    from socialsell.plugins.manager import channel_types, describe_plugins  # noqa: PLC0415 - `socialsell status` (a read command) does not load socialsell.plugins.manager; kept off its path

    channel_types(state.pm)  # a plugin whose channels cannot register is named here, in one line
    rows = describe_plugins(state.pm)
    if as_json:
        print_json(rows)
        return
    print_table(["plugin", "version", "hooks"], [(r["name"], r["version"] or "", ", ".join(r["hooks"])) for r in rows])


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def channels(ctx: click.Context, as_json: bool) -> None:
    """Configured channel accounts; `channels check NAME`, `channels connect NAME`, `channels resume NAME`."""
    if ctx.invoked_subcommand is not None:
        return
    _list_channels(ctx.obj, as_json)


@handle_errors
def _list_channels(state: State, as_json: bool) -> None:
    app = state.app
    rows = []
    for name, account in app.workspace.accounts.items():
        cls = app.channel_types.get(account.channel)
        caps = app.channel(name).capabilities().names() if cls else []
        rows.append({"id": name, "name": name, "channel": account.channel, "installed": cls is not None,
                     "capabilities": caps, "slots": account.slots})
    if as_json:
        print_json(rows)
        return
    print_table(["account", "channel", "capabilities", "slots"],
                [(r["name"], r["channel"] + ("" if r["installed"] else " (plugin missing)"), ", ".join(r["capabilities"]),
                  "; ".join(r["slots"])) for r in rows])


@channels.command("check")
@click.argument("name")
@json_option
@pass_app
def channels_check(app, name: str, as_json: bool) -> None:
    """Verify an account's credentials and show what its access allows."""
    result = app.channel(name).check()
    if as_json:
        print_json([{"id": name, "ok": result.ok, "identity": result.identity,
                     "capabilities": result.capabilities.names(), "notes": result.notes}])
        return
    click.echo(f"{name}: {'ok' if result.ok else 'NOT OK'}" + (f" as {result.identity}" if result.identity else ""))
    click.echo(f"  can: {', '.join(result.capabilities.names()) or 'nothing'}")
    for note in result.notes:  # a note may quote the network's answer: redacted like an error
        click.echo(f"  - {one_line(note)}")
    if not result.ok:
        raise SystemExit(1)


@channels.command("connect")
@click.argument("name")
@pass_app
def channels_connect(app, name: str) -> None:
    """Authorize an account (OAuth in the browser) and store its tokens safely."""

    owner = app.workspace.account(name).owner
    if owner and owner.lower() != app.actor.lower():  # a rep's tokens are theirs (docs/advocacy.md)
        raise UsageError(f"{name} is {owner}'s own account: only {owner} connects it (--as {owner})")
    channel = app.channel(name)
    if type(channel).connect is Channel.connect:
        # nothing to authorize: verify the credentials instead, and resume the account if paused
        click.echo(f"{name}: {channel.label or channel.name} needs no connection step; checking its credentials")
        _resume(app, name)
        return
    channel.connect(click.echo)
    app.account_ids()
    with app.db.write() as conn:  # a fresh authorization un-pauses the account
        app.resume_account(conn, name)
    click.echo(f"{name}: connected")


@channels.command("resume")
@click.argument("name")
@pass_app
def channels_resume(app, name: str) -> None:
    """Un-pause an account once what paused it is fixed (keys, an app password, a token file's
    mode): its credentials are checked with the network first."""
    _resume(app, name)


def _resume(app, name: str) -> None:

    channel = app.channel(name)  # an unknown name is a UsageError (exit 2)
    missing = channel.missing_credentials()
    if missing:
        raise UsageError(f"{name} cannot send yet: {missing}")
    result = channel.check()  # a channel without a connect step is verified here, not by a sign-in
    if not result.ok:
        why = "; ".join(one_line(note) for note in result.notes) or "the network refused the credentials"
        raise RuntimeFailure(f"{name} cannot send yet: {why} (fix it, then `socialsell channels resume {name}`)")
    app.account_ids()
    with app.db.write() as conn:
        resumed = app.resume_account(conn, name)
    click.echo(f"{name}: resumed; its waiting posts go out at the next pass" if resumed else f"{name}: not paused")
