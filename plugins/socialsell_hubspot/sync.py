"""One HubSpot sync pass: the outbox out (contacts, tasks, notes), then deals back.

Written on the CRM protocol of the public API only (``socialsell.api.CrmOutbox``; docs/plugins.md,
"CRM plugins"): a row is marked ``sending`` and committed before each call, and its HubSpot id
stored in a transaction after it. A row whose earlier attempt may have reached HubSpot
(``attempts > 0`` and no id) is reconciled before anything is created again: contacts by a
search on ``socialsell_contact_id``, email, X handle or profile URL (always, so nobody already in
HubSpot is duplicated); tasks and notes by a search on ``socialsell_key`` (``task:12``, ``note:40``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from socialsell.api import CrmDeal, CrmOutbox, CrmRecord, OutboxRow

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
    from .client import HubSpot  # noqa: PLC0415 - network client (hubspot-api-client), loaded only to talk to HubSpot

CRM = "hubspot"
LEASE_SECONDS = 600
#: re-read deals changed this long before the last one seen: HubSpot's search index shows a
#: change late ("new records appear late", docs/crm.md), and reading a deal twice changes nothing
SEARCH_OVERLAP = timedelta(minutes=10)

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
    moved: dict[str, int] = field(default_factory=dict)  # re-attached to another contact (a merge)
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


def contact_properties(record: CrmRecord) -> dict[str, str]:
    """A socialsell contact as HubSpot contact properties (lifecycle stage added by the caller)."""
    contact, handles = record.contact, record.handles
    props: dict[str, str] = {"socialsell_contact_id": str(contact.id)}
    name = (contact.display_name or "").strip()
    if name:
        first, _, last = name.partition(" ")
        props["firstname"] = first
        if last:
            props["lastname"] = last
    for key in ("email", "company"):
        if contact.get(key):
            props[key] = str(contact[key])
    if contact.location:
        props["city"] = str(contact.location)
    x = [h for h in handles if h.channel == "x"]
    if x:
        props["twitterhandle"] = x[0].handle.lstrip("@")
    props["socialsell_handles"] = " ".join(f"{h.channel}:{h.handle}" for h in handles)
    urls = [h.profile_url for h in handles if h.profile_url]
    if urls:
        props["socialsell_profile_urls"] = " ".join(urls)
    return props


def contact_search_groups(record: CrmRecord) -> list[list[dict[str, str]]]:
    """Who in HubSpot is this person: our id, their email, X handle or a profile URL (OR)."""
    contact = record.contact
    groups = [[{"propertyName": "socialsell_contact_id", "operator": "EQ", "value": str(contact.id)}]]
    if contact.email:
        groups.append([{"propertyName": "email", "operator": "EQ", "value": str(contact.email).lower()}])
    for h in record.handles:
        if h.channel == "x":
            groups.append([{"propertyName": "twitterhandle", "operator": "EQ", "value": h.handle.lstrip("@")}])
    for h in record.handles:
        if h.profile_url:
            groups.append([{"propertyName": "socialsell_profile_urls", "operator": "CONTAINS_TOKEN",
                            "value": h.profile_url}])
    return groups[:5]  # HubSpot takes at most 5 filter groups


def task_properties(record: CrmRecord, owner_id: str | None) -> dict[str, str]:
    task = record.task
    name = record.contact.display_name
    body = (task.reason or "") + (f"\nPost: {record.post_url}" if record.post_url else "")
    props = {
        "hs_task_subject": f"Follow up {name or 'contact ' + str(task.contact_id)}",
        "hs_task_body": body.strip(),
        "hs_task_status": "COMPLETED" if task.status in ("done", "dismissed") else "NOT_STARTED",
        "hs_task_priority": PRIORITY.get(task.priority, "MEDIUM"),
        "hs_task_type": "TODO",  # HubSpot's task type for a to-do (its enum: TODO, CALL, EMAIL)
        "hs_timestamp": _ms(record.due_at or task.due_at),
        "socialsell_key": record.key,
    }
    if owner_id:
        props["hubspot_owner_id"] = owner_id
    return props


def note_properties(record: CrmRecord) -> dict[str, str]:
    engagement, handle = record.engagement, record.handle
    who = f"{handle.handle} on {handle.channel}" if handle else "they"
    text = f": \u201c{engagement.text}\u201d" if engagement.text else ""
    body = f"{who} {engagement.kind}{text}" + (f"\nPost: {record.post_url}" if record.post_url else "")
    return {"hs_note_body": body[:65_000], "hs_timestamp": _ms(engagement.occurred_at), "socialsell_key": record.key}


class Pass:
    """One sync pass over the outbox, with its HubSpot client and owner cache."""

    def __init__(self, outbox: CrmOutbox, hs: HubSpot, now: datetime, result: SyncResult) -> None:
        self.outbox, self.hs, self.now, self.result = outbox, hs, now, result
        self._owners: dict[str, str | None] = {}
        self._deals: set[str] = set()  # stored this pass (a deal both pulled and found changed: once)

    def owner_id(self, email: str | None) -> str | None:
        """A [team] member's email -> their HubSpot owner id (owners API, once per pass)."""
        if not email:
            return None
        if email not in self._owners:
            self._owners[email] = self.hs.owner_id(email)
        return self._owners[email]

    def send(self, row: OutboxRow) -> None:
        self.outbox.start(row, self.now)
        record = self.outbox.record(row)
        if row.kind == "contact":
            self._send_contact(row, record)
        else:
            self._send_engagement(row, record)

    # -- contacts ----------------------------------------------------------------------------

    def _send_contact(self, row: OutboxRow, record: CrmRecord) -> None:

        props = contact_properties(record)
        owner = self.owner_id(record.owner_email)
        if owner:
            props["hubspot_owner_id"] = owner
        found = None
        if row.external_id:  # reconcile by the stored id first
            try:
                found = self.hs.get_contact(row.external_id)
            except NotFound:
                found = None
        if found is None:
            found = self.hs.find_contact(contact_search_groups(record))
        stage = record.contact.stage
        back = FROM_LIFECYCLE.get((found or {}).get("properties", {}).get("lifecyclestage") or "")
        if stage in TO_LIFECYCLE and (back is None or STAGE_RANK[stage] >= STAGE_RANK[back]):
            props["lifecyclestage"] = TO_LIFECYCLE[stage]
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
        # HubSpot further along (sales moved them there): socialsell follows, in the same commit
        self.outbox.finish(row, hs_id, self.now, version=record.version, remote_stage=back)

    # -- tasks and notes ---------------------------------------------------------------------

    def _send_engagement(self, row: OutboxRow, record: CrmRecord) -> None:

        contact_hs = record.contact_external_id
        if contact_hs is None:  # its contact is not in HubSpot yet: next pass
            self.outbox.release(row, self.now)
            return
        owner = self.owner_id(record.owner_email) if row.kind == "task" else None
        props = task_properties(record, owner) if row.kind == "task" else note_properties(record)
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
                self._attach(row, hs_id, contact_hs)
            except NotFound:
                hs_id = None
        if hs_id is None:
            hs_id = self.hs.create_engagement(row.kind, props, contact_hs)
            self.result.count(self.result.created, row.kind)
        self.outbox.finish(row, hs_id, self.now, version=record.version, parent=contact_hs)

    def _attach(self, row: OutboxRow, hs_id: str, contact_hs: str) -> None:
        """A merge (or unmerge) in socialsell moved this task or note to another contact: attach
        it there and detach it from the one it left, so it shows once, on the right timeline.
        Both calls are idempotent, so a crash between them is repaired by the next pass."""
        old = row.parent_external_id
        if old is None or old == contact_hs:
            return
        self.hs.associate(row.kind, hs_id, contact_hs)
        self.hs.dissociate(row.kind, hs_id, old)
        self.result.count(self.result.moved, row.kind)

    # -- deals back --------------------------------------------------------------------------

    def read_deals(self) -> None:
        """Deals into socialsell, at a cost proportional to what changed, not to the contacts:
        the deals of each newly linked contact once (their history), then only the deals HubSpot
        says were modified since the last pass (search on ``hs_lastmodifieddate``)."""
        for contact_id, hs_contact in self.outbox.contacts_to_pull():
            for deal in self.hs.deals_of_contact(hs_contact):
                self._store(contact_id, deal)
            self.outbox.pulled(contact_id, self.now)
        state = self.outbox.state()
        cursor = json.loads(state["deals_cursor"]) if state["deals_cursor"] else {"since": _epoch_ms(self.now)}
        since, overlap = int(cursor["since"]), int(SEARCH_OVERLAP.total_seconds() * 1000)
        # deals read already at this modification time (the overlap finds them again): skipped
        recent: dict[str, int] = {k: int(v) for k, v in cursor.get("recent", {}).items()}
        for batch in self.hs.deals_modified_since(since - overlap):
            stamps = {d["id"]: _epoch_ms(_when(d["properties"].get("hs_lastmodifieddate")) or self.now) for d in batch}
            fresh = [d for d in batch if recent.get(d["id"]) != stamps[d["id"]]]
            owners = self.hs.deal_contacts([d["id"] for d in fresh]) if fresh else {}
            local = self.outbox.local_ids("contact", sorted({c for cs in owners.values() for c in cs}))
            for deal in fresh:
                known = sorted(local[c] for c in owners.get(deal["id"], []) if c in local)
                if known:  # a deal of nobody socialsell sent is not ours to count
                    self._store(known[0], deal)
            recent.update(stamps)
            since = max(since, *stamps.values())
            recent = {k: v for k, v in recent.items() if v >= since - overlap}
            # the cursor moves with each page stored: a crash re-reads at most one page
            self.outbox.set_state(self.now, deals_cursor=json.dumps({"since": since, "recent": recent}))
        if state["deals_cursor"] is None:
            self.outbox.set_state(self.now, deals_cursor=json.dumps({"since": since, "recent": recent}))

    def _store(self, contact_id: int, deal: dict[str, Any]) -> None:
        self.outbox.store_deal(contact_id, to_deal(deal, self.now), self.now)
        if deal["id"] not in self._deals:
            self._deals.add(deal["id"])
            self.result.deals += 1


def _epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


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


def to_deal(deal: dict[str, Any], now: datetime) -> CrmDeal:
    """A HubSpot deal (id and properties) in socialsell's terms."""
    props = deal["properties"]
    stage = deal_stage(props)
    close = _when(props.get("closedate"))
    currency = str(props.get("deal_currency_code") or "")
    return CrmDeal(
        external_id=deal["id"], stage=stage, title=props.get("dealname") or f"HubSpot deal {deal['id']}",
        amount=float(props["amount"]) if props.get("amount") not in (None, "") else None,
        currency=currency if len(currency) == 3 and currency.isalpha() else None,
        expected_close=close.date() if close else None,
        closed_at=(close or now) if stage in ("won", "lost") else None,
        opened_at=_when(props.get("createdate")))


# --- the pass ---------------------------------------------------------------------------------


def plan(app: Any, now: datetime) -> SyncResult:
    """``--dry-run``: what a pass would send, computed in a transaction that is rolled back."""
    outbox = CrmOutbox(app, CRM)
    result = SyncResult(skipped=_blocked(outbox.state(), now))
    for row in outbox.plan(now):
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


def _send_due(outbox: CrmOutbox, work: Pass, now: datetime, result: SyncResult, kinds: tuple[str, ...] | None = None) -> None:

    rows = outbox.due(now, kinds=kinds) if kinds else outbox.due(now)
    for row in rows:
        try:
            work.send(row)
        except Transient as e:
            outbox.retry_later(row, now, str(e))
            result.retrying += 1
        except (Refused, LookupError) as e:  # HubSpot refused it, or it is gone from socialsell
            outbox.give_up(row, now, str(e))
            result.failed += 1
        except (RateLimited, AuthFailed, MissingProperty):
            outbox.release(row, now)
            raise


def sync(app: Any, now: datetime, *, holder: str = "cli", resume: bool = False) -> SyncResult:
    """One pass: enqueue, send what is due (contacts first), read deals back, then send what the
    deals changed (a contact whose deal was won is a customer in HubSpot in the same pass).

    ``resume`` (the ``crm sync`` command) lifts a pause left by a refused token; the loop's job
    never does, so a bad token costs one refused call, not one per pass.
    """
    from .client import HubSpot  # noqa: PLC0415 - network client (hubspot-api-client), loaded only to talk to HubSpot

    settings = load_settings(app)
    outbox = CrmOutbox(app, CRM)
    result = SyncResult()
    state = outbox.state()
    if resume and state["status"] == "paused":
        outbox.resume(now)
        state["status"] = "active"
    result.skipped = _blocked(state, now)
    if result.skipped:
        return result
    with outbox.lease(holder, now, LEASE_SECONDS) as ours:
        if not ours:
            result.skipped = "another worker is syncing"
            return result
        hs = HubSpot(settings.token, settings.host, now, app.workspace.timezone)
        work = Pass(outbox, hs, now, result)
        try:
            outbox.enqueue(now)
            _send_due(outbox, work, now, result)
            if settings.deals:
                try:
                    work.read_deals()
                    outbox.set_state(now, last_deals_at=now)
                except Transient as e:  # deals are read again next pass
                    result.stopped = str(e)
                if outbox.enqueue(now):  # stages the deals moved go out now, not next pass
                    _send_due(outbox, work, now, result, kinds=("contact",))
        except RateLimited as e:
            outbox.rate_limit(now, e.until, str(e))
            result.stopped = f"{e} (no call before {e.until.isoformat()})"
        except AuthFailed as e:
            outbox.pause(now, f"{e}: fix hubspot.token, then run `socialsell crm sync`")
            result.stopped = str(e)
        except MissingProperty as e:  # every object would fail the same way: stop, not mark each failed
            outbox.pause(now, f"{e}, then `socialsell crm sync`")
            result.stopped = str(e)
        finally:
            result.requests = hs.requests
        outbox.set_state(now, last_sync_at=now, **({} if result.stopped else {"last_error": None}))
    return result


