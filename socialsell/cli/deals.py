"""``socialsell deal``: open, list, show, move, win and lose deals."""

from __future__ import annotations

import click

from socialsell.cli.common import json_option, parse_id, pass_app, print_json, print_table
from socialsell.sales.deals import (
    get_deal,
    list_deals,
    lose_deal,
    move_deal,
    open_deal,
    parse_close,
    win_deal,
)
from socialsell.team import rep_tz
from socialsell.timeparse import format_local


def register(cli: click.Group) -> None:
    cli.add_command(deal)


def _force(func):
    return click.option("--force", is_flag=True, help="Act on it even though it is someone else's.")(func)


def _money(amount: float | None, currency: str) -> str:
    return "-" if amount is None else f"{amount:,.0f} {currency}"


@click.group()
def deal() -> None:
    """Deals: what a conversation is worth, from opening to won or lost."""


@deal.command("new")
@click.argument("contact_ref", metavar="CONTACT")
@click.option("--amount", type=float, help="The estimated value.")
@click.option("--close", "close", metavar="YYYY-MM-DD", help="Expected close date.")
@click.option("--stage", default="discovery", show_default=True, help="discovery, proposal or negotiation.")
@click.option("--title", help="One line (default: the contact's name and company).")
@click.option("--currency", metavar="CODE", help="ISO code (default EUR).")
@json_option
@pass_app
def deal_new(app, contact_ref, amount, close, stage, title, currency, as_json) -> None:
    """Open a deal with CONTACT (an id); its posts and campaign are fixed now."""
    from socialsell.sales.contacts import resolve_contact  # noqa: PLC0415 - `socialsell deal list` (a read command) does not load socialsell.sales.contacts; kept off its path

    d = open_deal(app, resolve_contact(app, contact_ref), amount=amount, close=parse_close(close),
                  stage=stage.lower(), title=title, currency=currency)
    if as_json:
        print_json([d])
        return
    click.echo(f"deal {d['id']} opened: {d['title']}, {_money(d['amount'], d['currency'])}, {d['stage']}"
               + (f", {len(d['posts'])} post(s) attributed" if d["posts"] else ""))


@deal.command("list")
@click.option("--mine", "scope", flag_value="mine", default=True, help="My deals (default).")
@click.option("--all", "scope", flag_value="all", help="Everyone's deals.")
@click.option("--owner", metavar="NAME", help="Someone else's deals.")
@click.option("--stage", help="Only this stage (discovery, proposal, negotiation, won, lost).")
@click.option("--open", "open_only", is_flag=True, help="Only open deals.")
@json_option
@pass_app
def deal_list(app, scope, owner, stage, open_only, as_json) -> None:
    """Deals, open ones first (by expected close), then closed ones."""

    rows = list_deals(app, owner=owner, all_owners=(scope == "all" and not owner),
                      stage=stage.lower() if stage else None, include_closed=not open_only)
    if as_json:
        print_json(rows)
        return
    who = "everyone" if scope == "all" and not owner else (owner or app.actor)
    print_table(
        ["id", "stage", "amount", "close", "deal", "owner"],
        [(r["id"], r["stage"], _money(r["amount"], r["currency"]),
          r["expected_close"].isoformat() if r["expected_close"] else "-", r["title"], r["owner"] or "-")
         for r in rows],
        title=f"deals for {who}", one_line=True, empty=f"no deals for {who}" + ("" if who == "everyone" else " (try --all)"),
    )


@deal.command("show")
@click.argument("deal_id")
@json_option
@pass_app
def deal_show(app, deal_id, as_json) -> None:
    """A deal: contact, value, stage, and the posts that started and moved it."""

    d = get_deal(app, parse_id(deal_id, "deal"))
    if as_json:
        print_json([d])
        return
    tz = rep_tz(app)
    c = d["contact"]
    click.echo(f"deal {d['id']}  [{d['stage']}]  {d['title']}  owner {d['owner'] or '-'}")
    click.echo(f"  contact #{c['id']} {c['display_name']}" + (f" ({c['company']})" if c["company"] else "") + f", {c['stage']}")
    click.echo(f"  amount {_money(d['amount'], d['currency'])}"
               + (f", expected close {d['expected_close'].isoformat()}" if d["expected_close"] else ""))
    click.echo(f"  opened {format_local(d['opened_at'], tz)} by {d['created_by'] or '-'}"
               + (f" from task {d['task_id']}" if d["task_id"] else ""))
    if d["closed_at"]:
        click.echo(f"  {d['stage']} {format_local(d['closed_at'], tz)}" + (f": {d['lost_reason']}" if d["lost_reason"] else ""))
    click.echo(f"  campaign {d['campaign'] or '-'}  source {d['source']}" + (f" ({d['external_id']})" if d["external_id"] else ""))
    if d["posts"]:
        click.echo("\nposts that started and moved it (fixed when it opened)")
        for p in d["posts"]:
            click.echo(f"  {p['position']}. post {p['post_id']}  {p['touches']} touch(es), "
                       f"{format_local(p['first_touch_at'], tz)} .. {format_local(p['last_touch_at'], tz)}"
                       + (f"  ({p['campaign']})" if p["campaign"] else ""))
            click.echo(f"     {p['text'].splitlines()[0][:80]}")


@deal.command("move")
@click.argument("deal_id")
@click.argument("stage")
@_force
@pass_app
def deal_move(app, deal_id, stage, force) -> None:
    """Move an open deal to another open stage."""

    d = move_deal(app, parse_id(deal_id, "deal"), stage.lower(), force=force)
    click.echo(f"deal {d['id']} moved to {d['stage']}")


@deal.command("won")
@click.argument("deal_id")
@click.option("--amount", type=float, help="The signed value (default: the deal's amount).")
@_force
@pass_app
def deal_won(app, deal_id, amount, force) -> None:
    """Close a deal as won; the contact becomes a customer."""

    d = win_deal(app, parse_id(deal_id, "deal"), amount, force=force)
    click.echo(f"deal {d['id']} won: {_money(d['amount'], d['currency'])}")


@deal.command("lost")
@click.argument("deal_id")
@click.option("--reason", help="Why it was lost (required).")
@_force
@pass_app
def deal_lost(app, deal_id, reason, force) -> None:
    """Close a deal as lost, with the reason."""

    d = lose_deal(app, parse_id(deal_id, "deal"), reason, force=force)
    click.echo(f"deal {d['id']} lost: {d['lost_reason']}")
