"""Deals: a sales opportunity with one contact, from opening to won or lost.

A deal is opened by hand (``deal new``) or from a follow-up (``task done --outcome
opportunity``, ``--outcome won``). When it opens, the posts whose engagements by the contact
started and moved the conversation are written to ``deal_posts`` in order, with the campaign
of the first post, and never rewritten: revenue is attributed to what was true then, however
long the deal takes (docs/sales.md, "Deals"). The contact's stage follows its deals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, insert, select, update

from socialsell.db import schema as t
from socialsell.db.pages import Page, fetch_page, page_of_dicts
from socialsell.errors import NotFound, UsageError
from socialsell.sales.merges import MAX_MERGE_HOPS, survivor_id

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

OPEN_STAGES = ("discovery", "proposal", "negotiation")
CLOSED_STAGES = ("won", "lost")
STAGES = OPEN_STAGES + CLOSED_STAGES
DEFAULT_CURRENCY = "EUR"  # the schema's default too; `deal new --currency USD` for others
#: contact stages a deal never moves a contact back from
_ABOVE_OPPORTUNITY = ("customer",)


def parse_close(text: str | None) -> date | None:
    """``--close 2026-12-31`` (a day, no time)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--close: cannot read the date {text!r}: use YYYY-MM-DD") from None


def _check_amount(amount: float | None) -> None:
    if amount is not None and (amount != amount or amount < 0 or amount > 1e12):  # NaN, negative, absurd
        raise UsageError("--amount must be a number from 0 to 1e12")


def _survivor(conn, contact_id: int) -> dict[str, Any]:
    """The contact a deal goes to: the one ``contact_id`` was merged into, in the end."""
    survivor = survivor_id(conn, contact_id)
    row = conn.execute(select(t.contacts).where(t.contacts.c.id == survivor)).mappings().first()
    if row is None:
        raise NotFound(f"no contact with id {survivor} (see `socialsell contacts`)")
    if row["merged_into"] is not None:
        raise NotFound(f"contact {contact_id}: merge chain longer than {MAX_MERGE_HOPS}")
    return dict(row)


def _attribution(conn, contact_id: int, until: datetime) -> list[dict[str, Any]]:
    """The contact's engagements with our posts up to ``until``, one row per post in order of
    first touch (ignored engagements do not count)."""
    E, D = t.engagements, t.deliveries
    first = func.min(E.c.occurred_at)
    rows = conn.execute(
        select(D.c.post_id, first.label("first"), func.max(E.c.occurred_at).label("last"), func.count().label("n"))
        .join(D, D.c.id == E.c.delivery_id)
        .where(and_(E.c.contact_id == contact_id, E.c.ignored.is_(None), E.c.occurred_at <= until))
        .group_by(D.c.post_id)
        .order_by(first, D.c.post_id)
    ).all()
    return [{"post_id": pid, "first_touch_at": f, "last_touch_at": la, "touches": n} for pid, f, la, n in rows]


def sync_contact_stage(conn, contact_id: int, now: datetime) -> str | None:
    """The contact's stage follows its deals: a won deal makes a customer, an open one an
    opportunity; when every deal is lost an opportunity goes back to qualified."""
    D, C = t.deals, t.contacts
    stages = {s for (s,) in conn.execute(select(D.c.stage).where(D.c.contact_id == contact_id))}
    current = conn.execute(select(C.c.stage).where(C.c.id == contact_id)).scalar()
    if "won" in stages:
        new = "customer"
    elif stages & set(OPEN_STAGES):
        new = current if current in _ABOVE_OPPORTUNITY else "opportunity"
    elif stages and current == "opportunity":
        new = "qualified"
    else:
        new = current
    if new != current:
        conn.execute(update(C).where(C.c.id == contact_id).values(stage=new, updated_at=now))
    return new


def open_deal_in(app: App, conn, contact_id: int, *, amount: float | None = None, close: date | None = None,
                 stage: str = "discovery", task_id: int | None = None, title: str | None = None,
                 currency: str | None = None) -> dict[str, Any]:
    """Open a deal inside the caller's transaction (``task done`` closes the task in the same one)."""
    if stage not in OPEN_STAGES:
        raise UsageError(f"a new deal starts in an open stage ({', '.join(OPEN_STAGES)}), not {stage!r}"
                         + (" (use `deal won ID` / `deal lost ID` once it is open)" if stage in CLOSED_STAGES else ""))
    _check_amount(amount)
    currency = (currency or DEFAULT_CURRENCY).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise UsageError(f"currency {currency!r}: use a three-letter ISO code like EUR or USD")
    contact = _survivor(conn, contact_id)
    now = app.now()
    posts = _attribution(conn, contact["id"], now)
    campaign_id = None
    if posts:  # the campaign of the first post that started the conversation (else the first that has one)
        campaigns = dict(conn.execute(select(t.posts.c.id, t.posts.c.campaign_id)
                                      .where(t.posts.c.id.in_([p["post_id"] for p in posts]))).all())
        campaign_id = next((campaigns[p["post_id"]] for p in posts if campaigns.get(p["post_id"])), None)
    name = contact["display_name"] or f"contact {contact['id']}"
    title = " ".join((title or (name + (f" ({contact['company']})" if contact["company"] else ""))).split())[:300]
    owner = contact["owner"] or app.actor
    deal_id = conn.execute(insert(t.deals).values(
        contact_id=contact["id"], owner=owner, title=title, amount=amount, currency=currency, stage=stage,
        expected_close=close, opened_at=now, task_id=task_id, campaign_id=campaign_id, source="socialsell",
        created_by=app.actor, updated_at=now)).inserted_primary_key[0]
    if posts:
        conn.execute(insert(t.deal_posts), [{"deal_id": deal_id, "position": i, **p} for i, p in enumerate(posts, 1)])
    sync_contact_stage(conn, contact["id"], now)
    app.record(conn, "deal.opened", f"deal:{deal_id}", {"contact": contact["id"], "amount": amount, "stage": stage,
                                                         "task": task_id, "posts": [p["post_id"] for p in posts]})
    return {"id": deal_id, "contact_id": contact["id"], "owner": owner, "title": title, "amount": amount,
            "currency": currency, "stage": stage, "expected_close": close, "campaign_id": campaign_id,
            "posts": [p["post_id"] for p in posts]}


def open_deal(app: App, contact_id: int, **kwargs: Any) -> dict[str, Any]:
    """``deal new``: open a deal with a contact (a merged contact's survivor)."""
    with app.db.write() as conn:
        return open_deal_in(app, conn, contact_id, **kwargs)


def _deal(conn, deal_id: int) -> dict[str, Any]:
    row = conn.execute(select(t.deals).where(t.deals.c.id == deal_id)).mappings().first()
    if row is None:
        raise NotFound(f"no deal with id {deal_id} (see `socialsell deal list --all`)")
    return dict(row)


def _open_deal(app: App, conn, deal_id: int, force: bool) -> dict[str, Any]:
    deal = _deal(conn, deal_id)
    if deal["stage"] in CLOSED_STAGES:
        raise UsageError(f"deal {deal_id} is already {deal['stage']}" + (f" ({deal['lost_reason']})" if deal["lost_reason"] else ""))
    if not force and deal["owner"] and deal["owner"] != app.actor:
        raise UsageError(f"deal {deal_id} belongs to {deal['owner']}, not {app.actor} (use --as {deal['owner']} or --force)")
    return deal


def move_deal(app: App, deal_id: int, stage: str, *, force: bool = False) -> dict[str, Any]:
    """``deal move``: to another open stage (won and lost have their own commands)."""
    if stage in CLOSED_STAGES:
        raise UsageError(f"use `deal {stage} {deal_id}` to close a deal")
    if stage not in OPEN_STAGES:
        raise UsageError(f"unknown deal stage {stage!r} (one of {', '.join(OPEN_STAGES)})")
    now = app.now()
    with app.db.write() as conn:
        deal = _open_deal(app, conn, deal_id, force)
        conn.execute(update(t.deals).where(t.deals.c.id == deal_id).values(stage=stage, updated_at=now))
        app.record(conn, "deal.moved", f"deal:{deal_id}", {"from": deal["stage"], "to": stage})
    return {**deal, "stage": stage}


def win_deal_in(app: App, conn, deal: dict[str, Any], amount: float | None) -> dict[str, Any]:
    _check_amount(amount)
    amount = deal["amount"] if amount is None else amount
    if amount is None:
        raise UsageError(f"deal {deal['id']} has no amount: give the signed value with --amount N")
    now = app.now()
    conn.execute(update(t.deals).where(t.deals.c.id == deal["id"]).values(
        stage="won", amount=amount, closed_at=now, updated_at=now))
    sync_contact_stage(conn, deal["contact_id"], now)
    app.record(conn, "deal.won", f"deal:{deal['id']}", {"amount": amount, "from": deal["stage"]})
    return {**deal, "stage": "won", "amount": amount, "closed_at": now}


def win_deal(app: App, deal_id: int, amount: float | None = None, *, force: bool = False) -> dict[str, Any]:
    """``deal won``: closed won, at the deal's amount or the one given (weeks later is fine)."""
    with app.db.write() as conn:
        return win_deal_in(app, conn, _open_deal(app, conn, deal_id, force), amount)


def lose_deal(app: App, deal_id: int, reason: str, *, force: bool = False) -> dict[str, Any]:
    """``deal lost``: closed lost, with the reason (required: it is what marketing learns from)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise UsageError("--reason is empty: say why the deal was lost, e.g. 'went with a competitor'")
    now = app.now()
    with app.db.write() as conn:
        deal = _open_deal(app, conn, deal_id, force)
        conn.execute(update(t.deals).where(t.deals.c.id == deal_id).values(
            stage="lost", lost_reason=reason, closed_at=now, updated_at=now))
        sync_contact_stage(conn, deal["contact_id"], now)
        app.record(conn, "deal.lost", f"deal:{deal_id}", {"reason": reason, "from": deal["stage"]})
    return {**deal, "stage": "lost", "lost_reason": reason, "closed_at": now}


def open_deals_of(conn, contact_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        select(t.deals).where(and_(t.deals.c.contact_id == contact_id, t.deals.c.stage.in_(OPEN_STAGES)))
        .order_by(t.deals.c.opened_at, t.deals.c.id)).mappings()]


def list_deals(app: App, *, owner: str | None = None, all_owners: bool = False, stage: str | None = None,
               include_closed: bool = True, limit: int | None = None) -> Page:
    """Deals, open ones first (by expected close, undated last), then closed ones (latest first);
    at most ``limit`` (None: all), with ``total`` the number that match. Sorted by the database,
    so a cut list holds the first deals of the whole list."""
    D, C = t.deals, t.contacts
    if stage is not None and stage not in STAGES:
        raise UsageError(f"unknown deal stage {stage!r} (one of {', '.join(STAGES)})")
    columns = ("id", "title", "owner", "amount", "currency", "stage", "expected_close", "opened_at", "closed_at",
               "lost_reason", "contact_id", "task_id", "campaign_id", "display_name")
    q = select(*(D.c[name] for name in columns[:-1]), C.c.display_name).join(C, C.c.id == D.c.contact_id)
    if not all_owners:
        q = q.where(D.c.owner == (owner or app.actor))
    if stage:
        q = q.where(D.c.stage == stage)
    elif not include_closed:
        q = q.where(D.c.stage.in_(OPEN_STAGES))
    else:
        q = q.where(D.c.stage.in_(STAGES))
    is_open = D.c.stage.in_(OPEN_STAGES)
    q = q.order_by(
        case((is_open, 0), else_=1),
        case((is_open, case((D.c.expected_close.is_(None), 1), else_=0))),  # undated open deals last
        case((is_open, D.c.expected_close)),
        case((is_open, D.c.id)),
        case((~is_open, D.c.closed_at)).desc(),  # closed: latest first
        D.c.id.desc(),
    )
    with app.db.read() as conn:
        rows = page_of_dicts(fetch_page(conn, q, limit), columns)
    for r in rows:
        r["contact"] = {"id": r.pop("contact_id"), "name": r.pop("display_name")}
    return rows


def get_deal(app: App, deal_id: int) -> dict[str, Any]:
    """One deal with its contact, the task it came from, its campaign and its posts in order."""
    P, DP = t.posts, t.deal_posts
    with app.db.read() as conn:
        deal = _deal(conn, deal_id)
        deal["contact"] = dict(conn.execute(select(t.contacts.c.id, t.contacts.c.display_name, t.contacts.c.company,
                                                   t.contacts.c.stage).where(t.contacts.c.id == deal["contact_id"]))
                               .mappings().one())
        deal["campaign"] = conn.execute(select(t.campaigns.c.name).where(t.campaigns.c.id == deal["campaign_id"])).scalar() \
            if deal["campaign_id"] else None
        deal["posts"] = [dict(r) for r in conn.execute(
            select(DP.c.position, DP.c.post_id, DP.c.first_touch_at, DP.c.last_touch_at, DP.c.touches, P.c.text,
                   t.campaigns.c.name.label("campaign"))
            .join(P, P.c.id == DP.c.post_id).outerjoin(t.campaigns, t.campaigns.c.id == P.c.campaign_id)
            .where(DP.c.deal_id == deal_id).order_by(DP.c.position)).mappings()]
    return deal
