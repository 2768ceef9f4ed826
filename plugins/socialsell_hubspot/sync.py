"""One HubSpot sync pass: the outbox out (contacts, tasks, notes), then deals back.

The protocol is the core's CRM outbox (``socialsell.sales.crm``, docs/crm.md): a row is marked
``sending`` and committed before each call, and its HubSpot id stored in a transaction after it.
A row whose earlier attempt may have reached HubSpot (``attempts > 0`` and no id) is reconciled
before anything is created again: contacts by a search on ``socialsell_contact_id``, email, X
handle or profile URL (always, so nobody already in HubSpot is duplicated); tasks and notes by a
search on ``socialsell_key`` (``task:12``, ``note:40``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.sales import crm
from socialsell.sales.crm import OutboxRow
from socialsell.sales.deals import _attribution, sync_contact_stage

from .client import (
    AuthFailed,
    Conflict,
    HubSpot,
    MissingProperty,
    NotFound,
    RateLimited,
    Refused,
    Transient,
)
from .settings import load_settings

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

    from .client import HubSpot

CRM = "hubspot"
LEASE_SECONDS = 600

#: socialsell stage -> HubSpot lifecycle stage (disqualified is never pushed: HubSpot's "other"
#: would overwrite a stage sales set there)
TO_LIFECYCLE = {"engaged": "subscriber", "lead": "lead", "qualified": "marketingqualifiedlead",
                "opportunity": "opportunity", "customer": "customer"}
#: HubSpot lifecycle stage -> socialsell stage (a stage further along in HubSpot comes back)
FROM_LIFECYCLE = {"subscriber": "engaged", "lead": "lead", "marketingqualifiedlead": "qualified",
                  "salesqualifiedlead": "qualified", "opportunity": "opportunity", "customer": "customer",
                  "evangelist": "customer"}
STAGE_RANK = {s: i for i, s in enumerate(("engaged", "lead", "qualified", "opportunity", "customer"))}
#: HubSpot's default sales pipeline stages -> socialsell deal stages (closed ones by the flags)
DEAL_STAGES = {"appointmentscheduled": "discovery", "qualifiedtobuy": "discovery",
               "presentationscheduled": "proposal", "decisionmakerboughtin": "proposal",
               "contractsent": "negotiation"}
PRIORITY = {1: "HIGH", 2: "HIGH", 3: "MEDIUM", 4: "LOW"}


@dataclass
class SyncResult:
    """What one pass did (``crm sync`` prints it; ``--json`` too)."""

    skipped: str | None = None  # why nothing was sent: paused, rate limited, another worker
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)  # found in HubSpot instead of created
    retrying: int = 0
    failed: int = 0
    deals: int = 0
    requests: int = 0
    stopped: str | None = None  # why the pass ended early (rate limit, refused token)
    planned: list[dict[str, Any]] = field(default_factory=list)  # --dry-run

    def count(self, what: dict[str, int], kind: str) -> None:
        what[kind] = what.get(kind, 0) + 1


def _ms(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- what each local object looks like in HubSpot ---------------------------------------------


def _contact(conn: Connection, contact_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    contact = dict(conn.execute(select(t.contacts).where(t.contacts.c.id == contact_id)).mappings().one())
    handles = [dict(h) for h in conn.execute(select(t.handles).where(t.handles.c.contact_id == contact_id)
                                             .order_by(t.handles.c.id)).mappings()]
    return contact, handles


def contact_properties(contact: dict[str, Any], handles: list[dict[str, Any]]) -> dict[str, str]:
    """A socialsell contact as HubSpot contact properties (lifecycle stage added by the caller)."""
    props: dict[str, str] = {"socialsell_contact_id": str(contact["id"])}
    name = (contact.get("display_name") or "").strip()
    if name:
        first, _, last = name.partition(" ")
        props["firstname"] = first
        if last:
            props["lastname"] = last
    for key in ("email", "company"):
        if contact.get(key):
            props[key] = str(contact[key])
    if contact.get("location"):
        props["city"] = str(contact["location"])
    x = [h for h in handles if h["channel"] == "x"]
    if x:
        props["twitterhandle"] = x[0]["handle"].lstrip("@")
    props["socialsell_handles"] = " ".join(f"{h['channel']}:{h['handle']}" for h in handles)
    urls = [h["profile_url"] for h in handles if h.get("profile_url")]
    if urls:
        props["socialsell_profile_urls"] = " ".join(urls)
    return props


def contact_search_groups(contact: dict[str, Any], handles: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    """Who in HubSpot is this person: our id, their email, X handle or a profile URL (OR)."""
    groups = [[{"propertyName": "socialsell_contact_id", "operator": "EQ", "value": str(contact["id"])}]]
    if contact.get("email"):
        groups.append([{"propertyName": "email", "operator": "EQ", "value": str(contact["email"]).lower()}])
    for h in handles:
        if h["channel"] == "x":
            groups.append([{"propertyName": "twitterhandle", "operator": "EQ", "value": h["handle"].lstrip("@")}])
    for h in handles:
        if h.get("profile_url"):
            groups.append([{"propertyName": "socialsell_profile_urls", "operator": "CONTAINS_TOKEN",
                            "value": h["profile_url"]}])
    return groups[:5]  # HubSpot takes at most 5 filter groups


def _post_link(conn: Connection, engagement: dict[str, Any]) -> str | None:
    if engagement.get("delivery_id"):
        url = conn.execute(select(t.deliveries.c.remote_url).where(t.deliveries.c.id == engagement["delivery_id"])).scalar()
        if url:
            return url
    return engagement.get("url")


class Pass:
    """One sync pass over the outbox, with its HubSpot client and owner cache."""

    def __init__(self, app: App, hs: HubSpot, now: datetime, result: SyncResult) -> None:
        self.app, self.hs, self.now, self.result = app, hs, now, result
        self._owners: dict[str, str | None] = {}

    def owner_id(self, owner: str | None) -> str | None:
        """A [team] name -> its HubSpot owner id, through the rep's email (owners API)."""
        rep = self.app.workspace.rep(owner) if owner else None
        if rep is None or not rep.email:
            return None
        if rep.email not in self._owners:
            self._owners[rep.email] = self.hs.owner_id(rep.email)
        return self._owners[rep.email]

    def send(self, row: OutboxRow) -> None:
        crm.start_attempt(self.app, row, self.now)
        if row.kind == "contact":
            self._send_contact(row)
        else:
            self._send_engagement(row)

    # -- contacts ----------------------------------------------------------------------------

    def _send_contact(self, row: OutboxRow) -> None:
        with self.app.db.read() as conn:
            contact, handles = _contact(conn, row.local_id)
        props = contact_properties(contact, handles)
        owner = self.owner_id(contact.get("owner"))
        if owner:
            props["hubspot_owner_id"] = owner
        found = None
        if row.external_id:  # reconcile by the stored id first
            try:
                found = self.hs.get_contact(row.external_id)
            except NotFound:
                found = None
        if found is None:
            found = self.hs.find_contact(contact_search_groups(contact, handles))
        remote_stage = (found or {}).get("properties", {}).get("lifecyclestage") or ""
        local_rank = STAGE_RANK.get(contact["stage"], -1)
        back = FROM_LIFECYCLE.get(remote_stage)
        if contact["stage"] in TO_LIFECYCLE and (back is None or local_rank >= STAGE_RANK[back]):
            props["lifecyclestage"] = TO_LIFECYCLE[contact["stage"]]
        if found is None:
            try:
                hs_id = self.hs.create_contact(props)
                self.result.count(self.result.created, "contact")
            except Conflict as e:  # the email is taken by a contact HubSpot's search did not show yet
                if not e.existing_id:
                    raise
                props.pop("email", None)
                hs_id = self.hs.update_contact(e.existing_id, props)
                self.result.count(self.result.matched, "contact")
        else:
            if props.get("email") and (found["properties"].get("email") or "").lower() == props["email"].lower():
                props.pop("email")  # already theirs; HubSpot refuses rewriting a unique value to itself
            hs_id = self.hs.update_contact(found["id"], props)
            self.result.count(self.result.updated if row.external_id == found["id"] else self.result.matched, "contact")
        with self.app.db.write() as conn:
            if back is not None and contact["stage"] != "disqualified" and STAGE_RANK[back] > local_rank:
                # HubSpot is further along (sales moved them there): socialsell follows
                conn.execute(update(t.contacts).where(t.contacts.c.id == contact["id"]).values(stage=back, updated_at=self.now))
            crm.finish(conn, row, hs_id, self.now)

    # -- tasks and notes ---------------------------------------------------------------------

    def _send_engagement(self, row: OutboxRow) -> None:
        with self.app.db.read() as conn:
            if row.kind == "task":
                obj = dict(conn.execute(select(t.tasks).where(t.tasks.c.id == row.local_id)).mappings().one())
            else:
                obj = dict(conn.execute(select(t.engagements).where(t.engagements.c.id == row.local_id)).mappings().one())
            contact_hs = crm.external_id(conn, CRM, "contact", obj["contact_id"])
            props = self._task_properties(conn, obj, row) if row.kind == "task" else self._note_properties(conn, obj, row)
        if contact_hs is None:  # its contact is not in HubSpot yet: next pass
            crm.release(self.app, row, self.now)
            return
        hs_id = row.external_id
        if hs_id is None and row.outcome_unknown:
            hs_id = self.hs.find_by_key(row.kind, row.key)
            if hs_id:
                self.result.count(self.result.matched, row.kind)
        if hs_id is not None:
            try:
                hs_id = self.hs.update_engagement(row.kind, hs_id, props)
                if row.external_id:
                    self.result.count(self.result.updated, row.kind)
            except NotFound:
                hs_id = None
        if hs_id is None:
            hs_id = self.hs.create_engagement(row.kind, props, contact_hs)
            self.result.count(self.result.created, row.kind)
        with self.app.db.write() as conn:
            crm.finish(conn, row, hs_id, self.now)

    def _task_properties(self, conn: Connection, task: dict[str, Any], row: OutboxRow) -> dict[str, str]:
        name = conn.execute(select(t.contacts.c.display_name).where(t.contacts.c.id == task["contact_id"])).scalar()
        first = None
        if task.get("first_engagement_id"):
            first = conn.execute(select(t.engagements).where(t.engagements.c.id == task["first_engagement_id"])).mappings().first()
        link = _post_link(conn, dict(first)) if first else None
        body = (task.get("reason") or "") + (f"\nPost: {link}" if link else "")
        props = {
            "hs_task_subject": f"Follow up {name or 'contact ' + str(task['contact_id'])}",
            "hs_task_body": body.strip(),
            "hs_task_status": "COMPLETED" if task["status"] in ("done", "dismissed") else "NOT_STARTED",
            "hs_task_priority": PRIORITY.get(task["priority"], "MEDIUM"),
            "hs_task_type": "TODO",
            "hs_timestamp": _ms(task["next_step_due"] or task["due_at"]),
            "socialsell_key": row.key,
        }
        owner = self.owner_id(task.get("owner"))
        if owner:
            props["hubspot_owner_id"] = owner
        return props

    def _note_properties(self, conn: Connection, engagement: dict[str, Any], row: OutboxRow) -> dict[str, str]:
        handle = conn.execute(select(t.handles.c.channel, t.handles.c.handle).where(
            t.handles.c.id == engagement["handle_id"])).first() if engagement.get("handle_id") else None
        who = f"{handle.handle} on {handle.channel}" if handle else "they"
        text = f": \u201c{engagement['text']}\u201d" if engagement.get("text") else ""
        link = _post_link(conn, engagement)
        body = f"{who} {engagement['kind']}{text}" + (f"\nPost: {link}" if link else "")
        return {"hs_note_body": body[:65_000], "hs_timestamp": _ms(engagement["occurred_at"]), "socialsell_key": row.key}

    # -- deals back --------------------------------------------------------------------------

    def read_deals(self) -> None:
        """Deals of every contact socialsell sent, into ``deals`` (source 'hubspot')."""
        o = t.crm_outbox
        with self.app.db.read() as conn:
            known = conn.execute(select(o.c.local_id, o.c.external_id).where(
                o.c.crm == CRM, o.c.kind == "contact", o.c.external_id.is_not(None)).order_by(o.c.local_id)).all()
        for contact_id, hs_contact in known:
            for deal in self.hs.deals_of_contact(hs_contact):
                with self.app.db.write() as conn:
                    store_deal(conn, self.app, contact_id, deal, self.now)
                self.result.deals += 1


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def deal_stage(props: dict[str, Any]) -> str:
    """HubSpot's deal stage and closed flags -> a socialsell stage."""
    if str(props.get("hs_is_closed_won") or "").lower() == "true" or props.get("dealstage") == "closedwon":
        return "won"
    if str(props.get("hs_is_closed") or "").lower() == "true" or props.get("dealstage") == "closedlost":
        return "lost"
    return DEAL_STAGES.get(str(props.get("dealstage") or ""), "discovery")


def store_deal(conn: Connection, app: App, contact_id: int, deal: dict[str, Any], now: datetime) -> int:
    """Insert or update one HubSpot deal.

    A deal seen for the first time adopts the contact's one deal made in socialsell and not yet
    linked to HubSpot, when there is exactly one (a rep's ``task done --outcome won`` and sales'
    HubSpot deal are the same sale: counting both would double the revenue); otherwise it is
    inserted with the posts that started the conversation (``deal_posts``), fixed from the
    contact's engagements up to its opening, as for any deal (socialsell/sales/deals.py).
    """
    props = deal["properties"]
    stage = deal_stage(props)
    amount = float(props["amount"]) if props.get("amount") not in (None, "") else None
    close = _when(props.get("closedate"))
    opened = _when(props.get("createdate")) or now
    values = {"title": (props.get("dealname") or f"HubSpot deal {deal['id']}")[:300], "amount": amount, "stage": stage,
              "expected_close": close.date() if close else None,
              "closed_at": (close or now) if stage in ("won", "lost") else None, "updated_at": now}
    if props.get("deal_currency_code"):
        values["currency"] = str(props["deal_currency_code"])[:3]
    d = t.deals
    existing = conn.execute(select(d.c.id).where(d.c.source == CRM, d.c.external_id == deal["id"])).scalar()
    if existing is None:
        local = conn.execute(select(d.c.id).where(d.c.contact_id == contact_id, d.c.source == "socialsell",
                                                  d.c.external_id.is_(None), d.c.stage != "lost")).scalars().all()
        if len(local) == 1:
            existing = local[0]
            values.update(source=CRM, external_id=deal["id"])  # its deal_posts stay as fixed at its opening
            app.record(conn, "deal.linked", f"deal:{existing}", {"crm": CRM, "external_id": deal["id"]})
    if existing is not None:
        conn.execute(update(d).where(d.c.id == existing).values(**values))
        deal_id = existing
    else:
        contact = conn.execute(select(t.contacts.c.owner).where(t.contacts.c.id == contact_id)).first()
        task_id = conn.execute(select(t.tasks.c.id).where(t.tasks.c.contact_id == contact_id)
                               .order_by(t.tasks.c.created_at.desc(), t.tasks.c.id.desc()).limit(1)).scalar()
        touches = _attribution(conn, contact_id, opened)
        campaign = None
        if touches:
            campaign = conn.execute(select(t.posts.c.campaign_id).where(t.posts.c.id == touches[0]["post_id"])).scalar()
        deal_id = conn.execute(insert(d).values(
            contact_id=contact_id, owner=contact.owner if contact else None, opened_at=opened, task_id=task_id,
            campaign_id=campaign, source=CRM, external_id=deal["id"], created_by="hubspot", **values)).inserted_primary_key[0]
        if touches:
            conn.execute(insert(t.deal_posts), [{"deal_id": deal_id, "position": i, **p} for i, p in enumerate(touches, 1)])
        app.record(conn, "deal.synced", f"deal:{deal_id}", {"crm": CRM, "external_id": deal["id"]})
    sync_contact_stage(conn, contact_id, now)
    return deal_id


# --- the pass ---------------------------------------------------------------------------------


def plan(app: App, now: datetime) -> SyncResult:
    """``--dry-run``: what a pass would send, computed in a transaction that is rolled back."""
    result = SyncResult()
    with crm.rolled_back(app) as conn:
        result.skipped = _blocked(crm.state(conn, CRM), now)
        crm.enqueue(conn, app, CRM, now)
        for row in crm.due(conn, CRM, now, limit=10_000):
            action = "update" if row.external_id else ("reconcile, then create or update" if row.outcome_unknown
                                                       else "match or create" if row.kind == "contact" else "create")
            result.planned.append({"id": row.key, "kind": row.kind, "local_id": row.local_id, "action": action})
    return result


def _blocked(state: dict[str, Any], now: datetime) -> str | None:
    if state["status"] == "paused":
        return f"paused: {state['paused_reason']}"
    until = state["rate_limited_until"]
    if until is not None and until > now:
        return f"rate limited by HubSpot until {until.isoformat()}"
    return None


def sync(app: App, now: datetime, *, holder: str = "cli", resume: bool = False) -> SyncResult:
    """One pass: enqueue, send what is due (contacts first), then read deals back.

    ``resume`` (the ``crm sync`` command) lifts a pause left by a refused token; the loop's job
    never does, so a bad token costs one refused call, not one per pass.
    """

    settings = load_settings(app)
    result = SyncResult()
    with app.db.read() as conn:
        state = crm.state(conn, CRM)
    if resume and state["status"] == "paused":
        crm.set_state(app, CRM, now, status="active", paused_reason=None)
        state["status"] = "active"
    result.skipped = _blocked(state, now)
    if result.skipped:
        return result
    with leases.held(app.db, f"crm:{CRM}", holder, now, LEASE_SECONDS) as ours:
        if not ours:
            result.skipped = "another worker is syncing"
            return result
        hs = HubSpot(settings.token, settings.host, now, app.workspace.timezone)
        work = Pass(app, hs, now, result)
        with app.db.write() as conn:
            crm.enqueue(conn, app, CRM, now)
        with app.db.read() as conn:
            rows = crm.due(conn, CRM, now)
        try:
            for row in rows:
                try:
                    work.send(row)
                except Transient as e:
                    crm.retry_later(app, row, now, str(e))
                    result.retrying += 1
                except Refused as e:
                    crm.give_up(app, row, now, str(e))
                    result.failed += 1
                except (RateLimited, AuthFailed, MissingProperty):
                    crm.release(app, row, now)
                    raise
            if settings.deals:
                try:
                    work.read_deals()
                    crm.set_state(app, CRM, now, last_deals_at=now)
                except Transient as e:  # deals are read again next pass
                    result.stopped = str(e)
        except RateLimited as e:
            crm.rate_limit(app, CRM, now, e.until, str(e))
            result.stopped = f"{e} (no call before {e.until.isoformat()})"
        except AuthFailed as e:
            crm.pause(app, CRM, now, f"{e}: fix hubspot.token, then run `socialsell crm sync`")
            result.stopped = str(e)
        except MissingProperty as e:  # every object would fail the same way: stop, not mark each failed
            crm.pause(app, CRM, now, f"{e}, then run `socialsell crm sync`")
            result.stopped = str(e)
        finally:
            result.requests = hs.requests
        crm.set_state(app, CRM, now, last_sync_at=now, **({} if result.stopped else {"last_error": None}))
    return result
