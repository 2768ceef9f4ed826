"""The marketer's planning commands: ``campaign new/list/show`` and ``import posts``."""

from __future__ import annotations

from pathlib import Path

import click

from socialsell.cli.common import (
    fail,
    json_option,
    limit_option,
    note_cut,
    pass_app,
    print_json,
    print_table,
)
from socialsell.cli.inputs import AMOUNT
from socialsell.errors import UsageError
from socialsell.marketing.campaigns import create_campaign, get_campaign, list_campaigns
from socialsell.marketing.importer import import_posts, read_rows
from socialsell.timeparse import format_local


def register(cli: click.Group) -> None:
    for command in (campaign, import_):
        cli.add_command(command)


@click.group()
def campaign() -> None:
    """Campaigns: goal, period, persona, channels, budget, and their posts' reach."""


@campaign.command("new")
@click.argument("name")
@click.option("--goal", help="What the campaign is for.")
@click.option("--starts", metavar="DATE", help="First day (YYYY-MM-DD).")
@click.option("--ends", metavar="DATE", help="Last day (YYYY-MM-DD).")
@click.option("--persona", help="The buyer persona it speaks to.")
@click.option("--channel", "-c", "channels", multiple=True, metavar="NAME", help="Its channel accounts (repeatable).")
@click.option("--budget", type=AMOUNT, help="Budget, in your currency.")
@click.option("--utm", metavar="NAME", help="utm_campaign for its links (default: the name, slugified).")
@click.option("--hashtag", "hashtags", multiple=True, metavar="TAG", help="A hashtag every post must carry (repeatable).")
@click.option("--disclaimer", help="A line every post must carry.")
@click.option("--shareable", is_flag=True, help="Its posts are shareable by reps unless a post says otherwise.")
@json_option
@pass_app
def campaign_new(app, name, goal, starts, ends, persona, channels, budget, utm, hashtags, disclaimer, shareable,
                 as_json) -> None:
    """Create a campaign."""
    row = create_campaign(app, name, goal=goal, starts=starts, ends=ends, persona=persona, channels=list(channels),
                          budget=budget, utm=utm, hashtags=list(hashtags), disclaimer=disclaimer, shareable=shareable)
    if as_json:
        print_json([row])
        return
    click.echo(f"campaign {row['name']} created (utm_campaign={row['utm_campaign']})")


@campaign.command("list")
@limit_option
@json_option
@pass_app
def campaign_list(app, limit, as_json) -> None:
    """Every campaign and how many posts it has, by start date."""
    rows = list_campaigns(app, limit=limit)
    if as_json:
        print_json(rows)
    else:
        tz = app.workspace.timezone
        print_table(["name", "goal", "period", "channels", "posts"], [
            (r["name"], r["goal"] or "", f"{format_local(r['starts_on'], tz, '%Y-%m-%d')} .. {format_local(r['ends_on'], tz, '%Y-%m-%d')}",
             ", ".join(r["channels"] or []), r["posts"]) for r in rows
        ], empty="no campaigns yet: socialsell campaign new NAME --goal '...'")
    note_cut(len(rows), rows.total)


@campaign.command("show")
@click.argument("name")
@click.option("--model", default="linear", show_default=True, metavar="M",
              help="Attribution model for its revenue: first, last or linear.")
@json_option
@pass_app
def campaign_show(app, name, model, as_json) -> None:
    """A campaign, its posts per channel, their reach, impressions and engagements, and the revenue they brought."""
    # imported here: the report modules build most of the schema at import (~70 ms with -X
    # importtime, shared machine), which `campaign list` and `import posts` must not pay
    from socialsell.reports.campaign import campaign_figures  # noqa: PLC0415 - the report modules cost ~70 ms (-X importtime); only campaign show needs them
    from socialsell.reports.formatting import cell  # noqa: PLC0415 - with the line above
    from socialsell.reports.scope import MODELS  # noqa: PLC0415 - with the line above

    if model not in MODELS:
        raise UsageError(f"--model {model!r}: one of {', '.join(MODELS)}")
    c = get_campaign(app, name)
    c["figures"] = f = campaign_figures(app, c, model)
    if as_json:
        print_json([c])
        return
    tz = app.workspace.timezone
    click.echo(f"campaign {c['name']}" + (f": {c['goal']}" if c["goal"] else ""))
    for label, key in (("persona", "persona"), ("budget", "budget"), ("utm_campaign", "utm_campaign"), ("disclaimer", "disclaimer")):
        if c[key] not in (None, ""):
            click.echo(f"  {label}: {c[key]}")
    if c["required_hashtags"]:
        click.echo("  hashtags: " + " ".join("#" + h for h in c["required_hashtags"]))
    tot = c["totals"]
    as_of = f" (metrics of {format_local(f['metrics_at'], tz)})" if f["metrics_at"] else " (no metrics fetched yet)"
    click.echo(f"  {len(c['posts'])} posts, {tot['published']} published; reach {cell('reach', f['reach'])}, "
               f"impressions {cell('impressions', f['impressions'])}{as_of}, engagements {f['engagements']}, "
               f"frequency {cell('frequency', f['frequency'])}, engagement rate {cell('engagement_rate', f['engagement_rate'])}")
    click.echo(f"  {f['leads']} leads, {f['qualified']} qualified; revenue {cell('revenue', f['revenue'])} from "
               f"{f['deals']} won deal{'s' if f['deals'] != 1 else ''} ({model} touch"
               + (f"; source {', '.join(f['sources'])}" if f["sources"] else "") + ")")
    if f["budget"]:
        click.echo(f"  cost per lead {cell('cost_per_lead', f['cost_per_lead'])}, cost per qualified lead "
                   f"{cell('cost_per_qualified', f['cost_per_qualified'])}, return on spend "
                   f"{cell('return_on_spend', f['return_on_spend'])}")
    print_table(["post", "channel", "status", "when", "reach", "impressions", "engagements"], [
        (p["id"], d["account"], d["status"], format_local(d["published_at"] or d["due_at"], tz),
         d["reach"] if d["reach"] is not None else "-", d["impressions"] if d["impressions"] is not None else "-",
         d["engagements"]) for p in c["posts"] for d in p["deliveries"]
    ], empty="no posts yet: socialsell post new --campaign " + c["name"] + " ...")


@click.group("import")
def import_() -> None:
    """Bulk import."""


@import_.command("posts")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row, import nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even if others are bad.")
@json_option
@pass_app
def import_posts_cmd(app, file, dry_run, skip_invalid, as_json) -> None:
    """Posts from CSV: channel,text,template,vars,at,campaign (see docs/marketing.md).

    \b
    channel: account(s), several separated by ';'   vars: k=v;k2=v2
    at: empty takes the next free slot
    """
    total = len(read_rows(file))
    if total >= 200 and not as_json:
        from rich.console import Console  # noqa: PLC0415 - rich.table: ~33 ms by -X importtime (loaded machine), only tables need it
        from rich.progress import Progress  # noqa: PLC0415 - rich.table: ~33 ms by -X importtime (loaded machine), only tables need it

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"importing {file.name}", total=total * (1 if dry_run else 2))
            result = import_posts(app, file, dry_run=dry_run, skip_invalid=skip_invalid,
                                  progress=lambda n: bar.advance(task, n))
    else:
        result = import_posts(app, file, dry_run=dry_run, skip_invalid=skip_invalid)
    if len(result.errors) == 1 and not skip_invalid:  # one bad row: one line, as for any bad input
        fail(f"{result.errors[0]}; nothing imported (fix it, or --skip-invalid to import the others)", 2)
    for line in result.errors:
        click.echo(f"Error: {line}", err=True)
    if as_json:
        print_json([{"id": i} for i in result.imported])
    elif dry_run:
        click.echo(f"{result.valid} of {result.rows} rows are valid; nothing imported (dry run)")
    else:
        click.echo(f"imported {len(result.imported)} posts from {file.name}"
                   + (f", skipped {len(result.errors)} invalid rows" if result.errors and skip_invalid else ""))
    if result.errors and not skip_invalid:
        fail(f"{len(result.errors)} of {result.rows} rows are invalid: nothing imported "
             "(fix them, or --skip-invalid to import the others)", 2)
