"""Sales: ingest, scoring, dedupe, contacts and merges, routing, the business-hours SLA, one open task per contact."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from socialsell import hookimpl
from socialsell.db import schema as t
from socialsell.plugins.channel import Engagement, Person
from socialsell.sales.contacts import contact_detail, merge_contacts, suggest_merges
from socialsell.sales.ingest import ingest
from socialsell.sales.sla import check_sla
from socialsell.sales.tasks import close_task, list_tasks

PEOPLE = {
    "@dana": Person("@dana", "Dana Whitfield", headline="VP Operations at Northwind", company="Northwind",
                    location="Berlin, Germany", followers=2400, profile_url="https://sandbox.example/dana"),
    "@sam": Person("@sam", "Sam Rivera", headline="Owner, Rivera Bikes", company="Rivera Bikes",
                   location="Lisbon, Portugal", followers=300),
    "@gabe": Person("@gabe", "Gabe Okafor", headline="Growth marketer", location="Lagos, Nigeria", followers=12000),
    "@raj": Person("@raj", "Raj Patel", headline="Sales enablement", company="Fabrikam", location="London, UK"),
    "@competitor_co": Person("@competitor_co", "Rival Inc", headline="The other tool"),
    "@botty": Person("@botty", "Deals", headline="Automated deals and giveaways"),
}
_seq = iter(range(1, 10**6))


def eng(handle: str, kind: str = "comment", text: str | None = None, at: datetime | None = None, ext: str | None = None,
        person: Person | None = None) -> Engagement:
    return Engagement(external_id=ext or f"e{next(_seq)}", kind=kind, person=person or PEOPLE[handle],
                      occurred_at=at or datetime(2026, 11, 23, 7, 30, tzinfo=UTC), text=text, url=f"sandbox://x/{handle}")


def run(app, *engagements: Engagement, account: str = "sandbox"):
    app.account_ids()  # as the poller does: account rows exist before its transaction
    with app.db.write() as conn:
        result = ingest(app, conn, account, list(engagements), app.now())
    result.fire_hooks(app)
    return result


def count(app, table, *where) -> int:
    with app.db.read() as conn:
        q = select(func.count()).select_from(table)
        for w in where:
            q = q.where(w)
        return conn.execute(q).scalar()


def edit_config(workspace: Path, old: str, new: str) -> None:
    text = workspace.read_text()
    assert old in text, old
    workspace.write_text(text.replace(old, new, 1))


# --- ingest, ignore lists, dedupe -------------------------------------------------------------


def test_engagement_becomes_contact_and_task(db_url, make_app):
    app = make_app(db_url)
    r = run(app, eng("@dana", "comment", "What does pricing look like for 40 people?"))
    assert len(r.new) == 1 and len(r.tasks_created) == 1
    task = r.tasks_created[0]
    assert task["intent"] and task["priority"] == 1
    assert task["owner"] == "alice"  # Berlin, Germany is in alice's territories
    c = contact_detail(app, task["contact_id"])
    assert c["display_name"] == "Dana Whitfield" and c["owner"] == "alice"
    assert c["handles"][0]["handle"] == "@dana" and c["handles"][0]["profile_url"] == "https://sandbox.example/dana"
    assert c["stage"] == "qualified"  # 8 comment + 12 intent + 8 ICP (VP) = 28 >= 25


def test_every_engagement_kind_is_stored(make_app):
    app = make_app()
    kinds = ("reply", "comment", "mention", "quote", "repost", "like", "follow", "message")
    r = run(app, *[eng("@gabe", k) for k in kinds])
    assert sorted(e["kind"] for e in r.new) == sorted(kinds)
    assert count(app, t.tasks) == 1  # one person, one task


def test_lone_like_from_a_stranger_makes_no_task(make_app):
    app = make_app()
    r = run(app, eng("@gabe", "like"))
    assert r.new and not r.tasks_created
    assert count(app, t.contacts) == 1


def test_own_accounts_and_ignore_lists_never_make_tasks(workspace, make_app):
    edit_config(workspace, 'name = "sandbox"\nchannel = "sandbox"', 'name = "sandbox"\nchannel = "sandbox"\nhandle = "@acme"')
    app = make_app()
    r = run(app, eng("@competitor_co", "comment", "pricing?"), eng("@botty", "message", "buy now"),
            eng("@acme", "reply", "Thanks! pricing is on the site", person=Person("@Acme", "Acme")),
            eng("@x", "comment", "demo?", person=Person("competitor_co", "Rival")))  # no @ still matches the list
    assert len(r.new) == 4 and r.ignored == 4 and not r.tasks_created
    assert count(app, t.contacts) == 0 and count(app, t.tasks) == 0
    with app.db.read() as conn:
        reasons = sorted(conn.execute(select(t.engagements.c.ignored)).scalars())
    assert reasons == ["ignored by headline", "on the ignore list", "on the ignore list", "our own account"]


def test_duplicates_are_ingested_once(db_url, make_app):
    app = make_app(db_url)
    e = eng("@sam", "reply", "Would this work for 3 people?", ext="same")
    first = run(app, e, e)
    again = run(app, e)
    assert len(first.new) == 1 and first.duplicates == 1
    assert not again.new and again.duplicates == 1
    assert count(app, t.engagements) == 1
    # same external id, another kind: a different engagement
    assert len(run(app, eng("@sam", "like", ext="same")).new) == 1


def test_ingest_is_bulk(make_app):
    """A batch of 300 engagements from 100 people costs a fixed number of statements, not one per row."""
    from sqlalchemy import event

    app = make_app()
    batch = [eng("@p", "comment", f"hello {i}", person=Person(f"@p{i % 100}", f"P {i % 100}")) for i in range(300)]
    statements = []
    event.listen(app.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    r = run(app, *batch)
    assert len(r.new) == 300 and len(r.tasks_created) == 100
    from collections import Counter

    assert len(statements) < 40, Counter(s.split("\n")[0][:70] for s in statements).most_common(4)


# --- scoring ---------------------------------------------------------------------------------


def test_score_lines_add_up_and_decay(db_url, make_app, clock):
    app = make_app(db_url)
    old = clock.now - timedelta(days=14)  # one half-life ago
    r = run(app, eng("@dana", "reply", "Nice", at=old), eng("@dana", "like"))
    c = contact_detail(app, r.new[0]["contact_id"])
    lines = c["score_explained"]
    assert round(sum(p for _, p in lines), 1) == c["score"]
    assert ("reply (14d ago)", 4.0) in [(reason, pts) for reason, pts in lines]  # 8 halved
    assert any("ideal customer profile" in reason for reason, _ in lines)


def test_intent_question_icp_and_thresholds_from_config(workspace, make_app):
    edit_config(workspace, 'companies = []', 'companies = ["Fabrikam"]')
    edit_config(workspace, 'qualified_threshold = 25', 'qualified_threshold = 40')
    app = make_app()
    r = run(app, eng("@raj", "comment", "How does it compare?"))  # no intent keyword: "how does" is not in this config
    c = contact_detail(app, r.new[0]["contact_id"])
    reasons = [reason for reason, _ in c["score_explained"]]
    assert any("asks a question" in x for x in reasons)
    assert any("target account: Fabrikam" in x for x in reasons)
    assert c["score"] == 8 + 4 + 8 and c["stage"] == "lead"


def test_plugin_scores_are_summed_and_qualify_lead_overrides(make_app, pm):
    class PluginA:
        @hookimpl
        def score_engagement(self, engagement, contact):
            return [("CRM: open opportunity", 30.0)]

    class PluginB:
        @hookimpl
        def score_engagement(self, engagement, contact):
            return [("enrichment: 500+ employees", 5.0)]

        @hookimpl
        def qualify_lead(self, contact, score, engagements):
            return "disqualified" if contact["display_name"] == "Gabe Okafor" else None

    a, b = PluginA(), PluginB()
    pm.register(a)
    pm.register(b)
    try:
        app = make_app()
        r = run(app, eng("@sam", "like"), eng("@gabe", "comment", "Great post"))
        sam = contact_detail(app, r.new[0]["contact_id"])
        assert sam["score"] == 1 + 30 + 5 + 8  # like + both plugins + ICP (owner)
        assert sam["stage"] == "qualified"
        gabe = contact_detail(app, r.new[1]["contact_id"])
        assert gabe["stage"] == "disqualified"
        assert [tk["contact_id"] for tk in r.tasks_created] == [sam["id"]]
    finally:
        pm.unregister(a)
        pm.unregister(b)


# --- one open task per contact ----------------------------------------------------------------


def test_later_engagements_attach_and_raise_priority(db_url, make_app, clock):
    app = make_app(db_url)
    first = run(app, eng("@sam", "reply", "Thanks for sharing"))
    task = first.tasks_created[0]
    assert task["priority"] == 2 and not task["intent"]
    clock.advance(hours=1)
    second = run(app, eng("@sam", "comment", "What does a quote for 3 seats cost?"))
    assert not second.tasks_created and second.tasks_updated == [task["id"]]
    [row] = list_tasks(app, all_owners=True)
    assert row["id"] == task["id"] and row["priority"] == 1 and row["intent"]
    assert row["score"] > task["score"] and row["due_at"] <= task["due_at"]
    assert "quote" in row["reason"]
    assert count(app, t.tasks, t.tasks.c.status == "open") == 1
    assert count(app, t.engagements, t.engagements.c.task_id == task["id"]) == 2


def test_snoozed_task_wakes_when_they_speak_again(make_app, clock):
    app = make_app()
    from socialsell.sales.tasks import snooze_task

    task = run(app, eng("@sam", "reply", "Hi there")).tasks_created[0]
    snooze_task(app, task["id"], clock.now + timedelta(days=3))
    run(app, eng("@sam", "comment", "any news?"))
    assert list_tasks(app, all_owners=True)[0]["status"] == "open"


def test_a_closed_task_lets_a_new_one_open(db_url, make_app):
    app = make_app(db_url, actor="bob")
    task = run(app, eng("@sam", "reply", "Hi")).tasks_created[0]
    close_task(app, task["id"], "replied", force=True)
    again = run(app, eng("@sam", "reply", "Hello again"))
    assert len(again.tasks_created) == 1 and again.tasks_created[0]["id"] != task["id"]


def test_two_workers_ingesting_the_same_person_make_one_task(db_url, make_app):
    apps = [make_app(db_url), make_app(db_url)]
    apps[0].account_ids()
    barrier = threading.Barrier(2)
    errors = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            for n in range(5):
                run(apps[i], eng("@x", "comment", f"question {i}-{n}?", person=Person("@newperson", "New Person")),
                    eng("@x", "reply", f"hello {i}-{n}", person=Person(f"@other{n}", f"Other {n}")))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    app = apps[0]
    assert count(app, t.contacts) == 6  # one per person, no orphan from the losing worker
    assert count(app, t.handles) == 6
    with app.db.read() as conn:
        per_contact = conn.execute(select(t.tasks.c.contact_id, func.count()).where(
            t.tasks.c.status.in_(("open", "snoozed"))).group_by(t.tasks.c.contact_id)).all()
        unattached = conn.execute(select(func.count()).where(t.engagements.c.task_id.is_(None))).scalar()
    assert len(per_contact) == 6 and all(n == 1 for _, n in per_contact)
    assert unattached == 0


# --- contacts and merges ----------------------------------------------------------------------


def _linked_twins(app):
    x = Person("@dana", "Dana Whitfield", profile_url="https://x.example/dana_w", company="Northwind")
    li = Person("dana-whitfield", "Dana Whitfield", profile_url="https://linkedin.example/in/dana_w/")
    a = run(app, eng("@x", "comment", "Could we see a demo?", person=x)).tasks_created[0]
    b = run(app, eng("@x", "reply", "Following this", person=li)).tasks_created[0]
    return a, b


def test_merge_suggestions_need_name_and_profile_link(make_app):
    app = make_app()
    a, b = _linked_twins(app)
    run(app, eng("@x", "comment", "hi", person=Person("@dana2", "Dana Whitfield")))  # same name only: no
    pairs = suggest_merges(app)
    assert [(p["id"], p["merge_with"]) for p in pairs] == [(a["contact_id"], b["contact_id"])]
    assert "profile link" in pairs[0]["reason"]
    assert contact_detail(app, b["contact_id"])["merge_suggestions"] == pairs


def test_merge_moves_everything_and_keeps_one_open_task(db_url, make_app, clock):
    from socialsell.sales.tasks import add_note

    app = make_app(db_url)
    a, b = _linked_twins(app)
    add_note(app, b["id"], "met at the conference", force=True)
    app.actor = "morgan"  # the twins have two owners: the lead's call
    r = merge_contacts(app, a["contact_id"], b["contact_id"])
    assert r["task"] == a["id"] and r["dismissed_task"] == b["id"]
    survivor = contact_detail(app, a["contact_id"])
    assert {h["handle"] for h in survivor["handles"]} == {"@dana", "dana-whitfield"}
    assert survivor["engagement_count"] == 2
    assert any(n["text"] == "met at the conference" for n in survivor["notes"])
    assert any(n["kind"] == "merge" for n in survivor["notes"])
    assert round(sum(p for _, p in survivor["score_explained"]), 1) == survivor["score"]
    open_tasks = [tk for tk in survivor["tasks"] if tk["status"] == "open"]
    assert [tk["id"] for tk in open_tasks] == [a["id"]]
    assert {tk["id"] for tk in survivor["tasks"]} == {a["id"], b["id"]}
    assert count(app, t.engagements, t.engagements.c.task_id == a["id"]) == 2
    assert count(app, t.events, t.events.c.kind == "contact.merged") == 1
    # the merged-away contact shows the survivor; later engagements from its handle land there
    assert contact_detail(app, b["contact_id"])["id"] == a["contact_id"]
    clock.advance(hours=1)
    later = run(app, eng("@x", "like", person=Person("dana-whitfield", "Dana Whitfield")))
    assert later.new[0]["contact_id"] == a["contact_id"] and later.tasks_updated == [a["id"]]
    assert suggest_merges(app) == []


def test_merge_errors(make_app):
    from socialsell.errors import NotFound, UsageError

    app = make_app()
    a, b = _linked_twins(app)
    with pytest.raises(UsageError, match="itself"):
        merge_contacts(app, a["contact_id"], a["contact_id"])
    with pytest.raises(NotFound):
        merge_contacts(app, a["contact_id"], 999)
    app.actor = "morgan"
    merge_contacts(app, a["contact_id"], b["contact_id"])
    with pytest.raises(UsageError, match="already merged"):
        merge_contacts(app, a["contact_id"], b["contact_id"])


def test_outcomes_move_the_lifecycle(make_app):
    app = make_app()
    task = run(app, eng("@dana", "comment", "pricing?")).tasks_created[0]
    close_task(app, task["id"], "won", 1200.0)
    c = contact_detail(app, task["contact_id"])
    assert c["stage"] == "customer" and c["tasks"][0]["amount"] == 1200.0


# --- routing ----------------------------------------------------------------------------------


def _owner(app, handle="@x", text="hello there", location=None, person=None):
    p = person or Person(handle, handle.strip("@").title(), location=location)
    return run(app, eng("@x", "comment", text, person=p)).tasks_created[0]["owner"]


def test_routing_hook_decides_first(make_app, pm):
    class Router:
        @hookimpl
        def assign_owner(self, contact, engagement, team):
            assert team == ["alice", "bob"]
            return "bob" if "Berlin" in (contact.get("location") or "") else None

    router = Router()
    pm.register(router)
    try:
        app = make_app()
        assert _owner(app, "@p1", location="Berlin, Germany") == "bob"  # the hook beats alice's territory
    finally:
        pm.unregister(router)


def test_routing_contact_owner_then_rules_then_reps_then_round_robin(workspace, make_app):
    edit_config(workspace, "# [[routing]]\n# keyword = \"enterprise\"\n# owner = \"alice\"",
                '[[routing]]\nkeyword = "enterprise"\nowner = "carol"\n\n'
                '[[routing]]\nterritory = "japan"\nowner = "dave"\n\n'
                '[[routing]]\nchannel = "sandbox"\nkeyword = "partner"\nowner = "erin"\n')
    edit_config(workspace, 'territories = ["UK", "Ireland", "Sweden", "Singapore", "UAE"]',
                'territories = ["UK", "Ireland", "Sweden", "Singapore", "UAE"]\nkeywords = ["api"]')
    edit_config(workspace, 'territories = ["Germany", "France", "Spain", "Portugal", "Netherlands"]',
                'territories = ["Germany", "France", "Spain", "Portugal", "Netherlands"]\nchannels = ["linkedin"]')
    app = make_app()
    assert _owner(app, "@r1", "we are an enterprise shop") == "carol"  # keyword rule
    assert _owner(app, "@r2", location="Tokyo, Japan") == "dave"  # territory rule
    assert _owner(app, "@r3", "partner program?") == "erin"  # channel + keyword rule
    assert _owner(app, "@r4", location="Madrid, Spain") == "alice"  # rep territory
    assert _owner(app, "@r5", "is there an api?") == "bob"  # rep keyword
    # round-robin: fewest open tasks (alice 1, bob 1 -> alice by name, then bob)
    assert _owner(app, "@r6") == "alice"
    assert _owner(app, "@r7") == "bob"
    # the contact's owner keeps their person, whatever the rules say
    task = run(app, eng("@x", "reply", "hi", person=Person("@r8", "R8", location="London, UK"))).tasks_created[0]
    assert task["owner"] == "bob"
    close_task(app, task["id"], "replied", force=True)
    again = run(app, eng("@x", "reply", "enterprise?", person=Person("@r8", "R8", location="London, UK"))).tasks_created[0]
    assert again["owner"] == "bob"


def test_rep_channel_rule(workspace, make_app):
    edit_config(workspace, 'territories = ["Germany", "France", "Spain", "Portugal", "Netherlands"]',
                'territories = []\nchannels = ["sandbox"]')
    app = make_app()
    assert _owner(app, "@c1", location="London, UK") == "bob"  # territory comes first in team order
    assert _owner(app, "@c2") == "alice"  # alice owns the sandbox channel


# --- business-hours SLA -----------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


@pytest.mark.parametrize(("start", "intent", "due"), [
    (local(2026, 11, 23, 10, 0), False, local(2026, 11, 23, 14, 0)),  # Monday morning: same day
    (local(2026, 11, 23, 10, 0), True, local(2026, 11, 23, 11, 0)),  # high intent: one hour
    (local(2026, 11, 23, 16, 0), False, local(2026, 11, 24, 11, 30)),  # evening: 1.5h today, 2.5h tomorrow
    (local(2026, 11, 23, 22, 0), False, local(2026, 11, 24, 13, 0)),  # night: from opening time
    (local(2026, 11, 27, 16, 30), False, local(2026, 11, 30, 12, 0)),  # Friday afternoon: Monday
    (local(2026, 11, 28, 11, 0), True, local(2026, 11, 30, 10, 0)),  # Saturday: Monday
    (local(2026, 12, 24, 16, 0), False, local(2026, 12, 28, 11, 30)),  # holidays 25th and 26th skipped... 27th is Sunday
    (local(2026, 3, 27, 16, 30), False, local(2026, 3, 30, 12, 0)),  # DST starts Sun 29 Mar: still 12:00 local
    (local(2026, 10, 23, 16, 30), False, local(2026, 10, 26, 12, 0)),  # DST ends Sun 25 Oct: still 12:00 local
])
def test_due_time_in_business_hours(workspace, make_app, start, intent, due):
    from socialsell.sales.routing import due_time

    edit_config(workspace, "holidays = []", 'holidays = ["2026-12-25", "2026-12-26"]')
    app = make_app()
    assert due_time(app, start, intent) == due


def test_sla_breached_once_per_level_with_two_workers(db_url, make_app, clock, pm):
    seen = []

    class Listener:
        @hookimpl
        def sla_breached(self, task, level):
            seen.append((task["id"], level))

    listener = Listener()
    pm.register(listener)
    try:
        a, b = make_app(db_url), make_app(db_url)
        task = run(a, eng("@sam", "reply", "Hello")).tasks_created[0]
        assert check_sla(a, clock.now)["breaches"] == []
        clock.now = task["due_at"] + timedelta(minutes=1)
        fired = check_sla(a, clock.now)["breaches"] + check_sla(b, clock.now)["breaches"]
        assert fired == [(task["id"], "overdue")]
        clock.advance(hours=9)
        threads = [threading.Thread(target=check_sla, args=(x, clock.now)) for x in (a, b)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        check_sla(a, clock.now)
        assert seen == [(task["id"], "overdue"), (task["id"], "escalated")]
        assert list_tasks(a, all_owners=True, overdue=True)[0]["overdue"]
    finally:
        pm.unregister(listener)


def test_tasks_most_urgent_first(make_app, clock):
    app = make_app(actor="alice")
    like = run(app, eng("@x", "repost", person=Person("@stranger", "Stranger", location="Paris, France",
                                                      headline="Founder")))
    pricing = run(app, eng("@x", "comment", "What is your pricing?", person=Person("@buyer", "Buyer", location="Berlin, Germany")))
    rows = list_tasks(app)
    assert [r["id"] for r in rows] == [pricing.tasks_created[0]["id"], like.tasks_created[0]["id"]]
    # once a task is overdue it comes first, whatever its score
    clock.now = like.tasks_created[0]["due_at"] + timedelta(minutes=1)
    old = run(app, eng("@x", "comment", "Could we get a demo?", person=Person("@new", "New", location="Paris, France")))
    rows = list_tasks(app)
    assert rows[0]["overdue"] and rows[-1]["id"] == old.tasks_created[0]["id"]


def test_ingest_lookups_are_planned_for_their_own_ids_on_postgresql(pg_url, make_app):
    """psycopg prepares a statement after its fifth run and PostgreSQL may then keep one generic
    plan for it, made while the tables were small: ingest's lookups kept scanning as the
    tables grew (bench/bench_ingest.py: 8 s batches). They are planned for their ids each time."""
    from sqlalchemy import text

    app = make_app(pg_url)
    for batch in range(14):  # prepared at the 5th run; PostgreSQL weighs a generic plan after 5 more
        run(app, *[eng("@p", "comment", f"hello {i}", person=Person(f"@p{batch}_{i}", f"P {i}")) for i in range(30)])
    with app.db.read() as conn:  # the pool's one connection: the session that ran the batches
        plans = conn.execute(text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                                  "WHERE statement LIKE 'SELECT external_id, kind FROM engagements%'")).all()
    assert plans and all(generic == 0 for _, generic, _ in plans), plans
