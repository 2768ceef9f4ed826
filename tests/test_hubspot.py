"""The hubspot plugin against a local fake HubSpot, with the real hubspot-api-client.

Nothing of the client is patched: it talks HTTP to tests/hubspot_fake.py on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from socialsell_hubspot.commands import job_crm_sync
from socialsell_hubspot.sync import sync
from sqlalchemy import MetaData, insert, select, update

from socialsell.db import schema as t
from socialsell.loop.polling import poll_account
from socialsell.marketing.posts import create_post, get_post
from socialsell.sales import crm

from .conftest import publish_quietly
from .hubspot_fake import serve

CANARY = "pat-na1-CANARY-7f3e9a1c-0000-4b1d-9e9e-5ec7e75ec7e7"


@pytest.fixture
def hubspot(workspace, monkeypatch, clock):
    """A fake HubSpot on 127.0.0.1 and a [hubspot] section pointing at it (token from the env)."""
    monkeypatch.setenv("HUBSPOT_TOKEN", CANARY)
    with serve(CANARY, clock) as (fake, url):
        fake.owners.append({"id": "9001", "email": "alice@example.com"})
        with open(workspace, "a") as f:
            f.write(f'\n[hubspot]\ntoken = {{env = "HUBSPOT_TOKEN"}}\nhost = "{url}"\n')
        yield fake


def _lead(app, clock, handle="@dana", text="Looks great, what does it cost for 20 seats?"):
    """A published post and a reply to it that opens a follow-up task; returns the post's id."""
    remote = publish_quietly(app, clock)
    app.channel("sandbox").inject(post_id=remote, kind="comment", handle=handle, text=text, name="Dana Whitfield", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    with app.db.read() as conn:
        return conn.execute(select(t.deliveries.c.post_id).where(t.deliveries.c.remote_id == remote)).scalar()


def _outbox(app):
    with app.db.read() as conn:
        return {(r.kind, r.local_id): r for r in conn.execute(select(t.crm_outbox))}


def test_contacts_tasks_and_notes_go_out_once(db_url, make_app, clock, hubspot):
    app = make_app(db_url)
    post_id = _lead(app, clock)
    result = sync(app, clock.now)
    assert result.created == {"contact": 1, "task": 1, "note": 1} and not result.stopped
    (contact,) = hubspot.objects["contacts"].values()
    props = contact["properties"]
    assert props["firstname"] == "Dana" and props["lastname"] == "Whitfield"
    assert props["socialsell_handles"] == "sandbox:@dana" and props["lifecyclestage"] in ("lead", "subscriber", "marketingqualifiedlead")
    (task,) = hubspot.objects["tasks"].values()
    assert task["properties"]["hubspot_owner_id"] == "9001"  # alice, by her email through the owners API
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    assert hubspot.associations[("tasks", task["id"], "contacts")] == [contact["id"]]
    (note,) = hubspot.objects["notes"].values()
    remote_url = get_post(app, post_id)["deliveries"][0]["remote_url"]
    assert "what does it cost" in note["properties"]["hs_note_body"] and remote_url in note["properties"]["hs_note_body"]
    assert all(r.status == "done" and r.external_id for r in _outbox(app).values())
    # all requests carried the token; a second pass creates nothing
    assert {r["auth"] for r in hubspot.requests} == {f"Bearer {CANARY}"}
    again = sync(app, clock.now)
    assert again.created == {} and len(hubspot.objects["contacts"]) == len(hubspot.objects["tasks"]) == 1

    # the rep closes the task: HubSpot's task is completed, not duplicated
    from socialsell.sales.tasks import close_task

    clock.advance(minutes=5)
    close_task(app, task_id=_outbox(app)[("task", 1)].local_id, outcome="meeting", force=True)
    assert sync(app, clock.now).updated.get("task") == 1
    assert len(hubspot.objects["tasks"]) == 1 and task["properties"]["hs_task_status"] == "COMPLETED"


def test_an_existing_contact_is_matched_by_email(make_app, clock, hubspot):
    app = make_app()
    _lead(app, clock)
    existing = hubspot.add("contacts", {"email": "dana@acme.example", "lifecyclestage": "salesqualifiedlead"})
    with app.db.write() as conn:
        conn.execute(update(t.contacts).values(email="Dana@acme.example"))
    result = sync(app, clock.now)
    assert result.matched == {"contact": 1} and "contact" not in result.created
    assert list(hubspot.objects["contacts"]) == [existing]
    props = hubspot.objects["contacts"][existing]["properties"]
    assert props["socialsell_contact_id"] == "1" and props["lifecyclestage"] == "salesqualifiedlead"
    with app.db.read() as conn:  # HubSpot was further along: socialsell follows
        assert conn.execute(select(t.contacts.c.stage)).scalar() == "qualified"
    assert _outbox(app)[("contact", 1)].external_id == existing


def test_a_409_on_create_reuses_the_existing_contact(make_app, clock, hubspot):
    """HubSpot's search shows new records late: the create answers 409 with the existing id."""
    app = make_app()
    _lead(app, clock)
    existing = hubspot.add("contacts", {"email": "dana@acme.example"})
    hubspot.unsearchable.add(existing)
    with app.db.write() as conn:
        conn.execute(update(t.contacts).values(email="dana@acme.example"))
    result = sync(app, clock.now)
    assert result.matched == {"contact": 1} and "contact" not in result.created and result.failed == 0
    assert list(hubspot.objects["contacts"]) == [existing]
    assert hubspot.objects["contacts"][existing]["properties"]["socialsell_contact_id"] == "1"


def test_a_missing_custom_property_pauses_instead_of_failing_every_row(make_app, clock, hubspot, cli):
    app = make_app()
    _lead(app, clock)
    hubspot.known_properties = {"email", "firstname", "lastname", "company", "city", "twitterhandle", "lifecyclestage",
                                "hubspot_owner_id"}
    result = sync(app, clock.now)
    assert "socialsell_contact_id" in result.stopped and "docs/crm.md" in result.stopped
    assert {r.status for r in _outbox(app).values()} == {"pending"} and hubspot.objects["contacts"] == {}
    assert "crm hubspot: paused: HubSpot contact search: 400 no such property socialsell_contact_id" in cli("status").output
    hubspot.known_properties = None  # an admin created them
    assert cli("crm", "sync").exit_code == 0 and len(hubspot.objects["contacts"]) == 1


class Crash(BaseException):
    """The process dying between HubSpot's answer and the commit (nothing catches it)."""


@pytest.mark.parametrize("kind", ["contact", "task", "note"])
def test_a_crash_between_the_call_and_the_commit_never_duplicates(db_url, make_app, clock, hubspot, monkeypatch, kind):
    app = make_app(db_url)
    _lead(app, clock)
    real_finish = crm.finish

    def finish_then_crash(conn, row, external, now):
        real_finish(conn, row, external, now)
        if row.kind == kind:
            raise Crash  # the transaction that would store HubSpot's id is rolled back
    monkeypatch.setattr(crm, "finish", finish_then_crash)
    with pytest.raises(Crash):
        sync(app, clock.now)
    plural = kind + "s"
    assert len(hubspot.objects[plural]) == 1  # HubSpot has it; socialsell does not know
    row = next(r for (k, _), r in _outbox(app).items() if k == kind)
    assert row.status == "sending" and row.external_id is None
    monkeypatch.setattr(crm, "finish", real_finish)

    sync(app, clock.now)  # too early to reconcile (HubSpot's search lags): the row waits
    assert len(hubspot.objects[plural]) == 1
    clock.advance(minutes=2)
    with app.db.write() as conn:  # the dead worker's lease expired meanwhile
        conn.execute(t.leases.delete())
    result = sync(app, clock.now)
    assert len(hubspot.objects[plural]) == 1 and result.matched.get(kind) == 1
    row = next(r for (k, _), r in _outbox(app).items() if k == kind)
    assert row.status == "done" and row.external_id == next(iter(hubspot.objects[plural]))
    assert len(hubspot.objects["contacts"]) == len(hubspot.objects["tasks"]) == len(hubspot.objects["notes"]) == 1


def test_429_is_honoured_and_the_row_stays_pending(make_app, clock, hubspot):
    app = make_app()
    _lead(app, clock)
    hubspot.fail_next(429, {"Retry-After": "120", "X-HubSpot-RateLimit-Max": "100",
                            "X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"},
                      {"status": "error", "errorType": "RATE_LIMIT", "policyName": "SECONDLY", "message": "You have reached your secondly limit."})
    result = sync(app, clock.now)
    assert "429" in result.stopped and len(hubspot.requests) == 1
    assert {r.status for r in _outbox(app).values()} == {"pending"} and all(r.attempts == 0 for r in _outbox(app).values())
    for _ in range(3):  # before the retry time: not one call
        clock.advance(seconds=39)
        assert sync(app, clock.now).skipped.startswith("rate limited") and len(hubspot.requests) == 1
    clock.advance(seconds=5)
    assert sync(app, clock.now).created == {"contact": 1, "task": 1, "note": 1}
    assert min(r["at"] for r in hubspot.requests[1:]) >= hubspot.requests[0]["at"] + timedelta(seconds=120)


def test_a_daily_429_waits_for_midnight(make_app, clock, hubspot):
    app = make_app()
    _lead(app, clock)
    hubspot.fail_next(429, {}, {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY", "message": "daily"})
    sync(app, clock.now)
    with app.db.read() as conn:
        until = crm.state(conn, "hubspot")["rate_limited_until"]
    assert until.astimezone(app.workspace.timezone).strftime("%H:%M") == "00:00" and until > clock.now


def test_5xx_is_retried_with_backoff_and_reconciled(make_app, clock, hubspot):
    app = make_app()
    _lead(app, clock)
    create = "POST /crm/v3/objects/contacts"
    hubspot.fail_next(503, body={"status": "error", "message": "Service Unavailable"}, on=create)
    result = sync(app, clock.now)
    assert result.retrying == 1 and hubspot.objects["contacts"] == {}
    row = _outbox(app)[("contact", 1)]
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at >= clock.now + timedelta(seconds=60)
    creates = len(hubspot.calls("POST", "/crm/v3/objects/contacts"))
    sync(app, clock.now)  # within the backoff: the contact is not tried again (its task and note wait for it)
    assert len(hubspot.calls("POST", "/crm/v3/objects/contacts")) == creates
    assert _outbox(app)[("task", 1)].status == "pending" and hubspot.objects["tasks"] == {}
    hubspot.fail_next(502, on=create)
    clock.advance(seconds=61)
    assert sync(app, clock.now).retrying == 1
    row = _outbox(app)[("contact", 1)]
    assert row.attempts == 2 and row.next_attempt_at >= clock.now + timedelta(seconds=120)  # doubled
    clock.advance(seconds=121)
    assert sync(app, clock.now).created == {"contact": 1, "task": 1, "note": 1}
    assert len(hubspot.objects["contacts"]) == 1 and _outbox(app)[("contact", 1)].status == "done"


def test_401_pauses_with_one_line_in_status_and_the_token_never_leaks(db_url, make_app, clock, hubspot, cli, caplog):
    app = make_app(db_url)
    _lead(app, clock)
    hubspot.token = "pat-the-right-one"  # HubSpot no longer accepts ours (revoked)
    caplog.set_level(logging.DEBUG)
    env = {"SOCIALSELL_DB": db_url} if db_url else None
    out = cli("crm", "sync", env=env)
    assert out.exit_code == 1 and "401" in out.output
    status = cli("status", env=env)
    lines = [line for line in status.output.splitlines() if line.startswith("crm hubspot")]
    assert len(lines) == 1 and "paused" in lines[0] and "401" in lines[0]
    # the loop's job does not hammer a refused token: no call while paused
    n = len(hubspot.requests)
    from socialsell.loop.worker import JobContext

    app2 = make_app(db_url)
    clock.advance(minutes=6)  # past sync_seconds (300) since the refused pass
    assert job_crm_sync(JobContext(app2, "w", clock.now))["skipped"].startswith("paused")
    assert len(hubspot.requests) == n
    # a 5xx and a 429 too, then: the canary is nowhere but in the Authorization header
    hubspot.token = CANARY
    hubspot.fail_next(500)
    cli("crm", "sync", env=env)
    js = cli("crm", "status", "--json", env=env)
    assert json.loads(js.output)[0]["status"] == "active"
    texts = [out.output, status.output, js.output, caplog.text]
    meta = MetaData()
    meta.reflect(app2.db.engine)
    with app2.db.read() as conn:
        for table in meta.sorted_tables:
            texts.extend(repr(tuple(r)) for r in conn.execute(select(table)))
    assert all(CANARY not in s for s in texts)
    assert any(CANARY in r["auth"] for r in hubspot.requests)


def test_a_deal_won_in_hubspot_is_revenue_on_the_post_that_started_it(db_url, make_app, clock, hubspot, cli):
    app = make_app(db_url)
    first_post = _lead(app, clock)  # Dana comments on this post: the conversation starts here
    clock.advance(hours=1)
    later = create_post(app, accounts=["sandbox"], text="Second post", at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=2)
    from socialsell.loop.publishing import publish_due

    publish_due(app, "w", clock.now)
    remote = get_post(app, later)["deliveries"][0]["remote_id"]
    app.channel("sandbox").inject(post_id=remote, kind="like", handle="@dana", text=None, at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    sync(app, clock.now)
    (hs_contact,) = hubspot.objects["contacts"]
    clock.advance(days=3)
    deal = hubspot.add("deals", {"dealname": "Acme, 20 seats", "amount": "12500", "dealstage": "closedwon",
                                 "hs_is_closed_won": "true", "closedate": "2026-11-26T10:00:00.000Z",
                                 "createdate": clock.now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "pipeline": "default"})
    hubspot.associate("contacts", hs_contact, "deals", deal)
    assert sync(app, clock.now).deals == 1
    with app.db.read() as conn:
        row = conn.execute(select(t.deals)).mappings().one()
        assert (row["source"], row["external_id"], row["stage"], row["amount"]) == ("hubspot", deal, "won", 12500.0)
        revenue = conn.execute(select(t.deal_posts.c.post_id, t.deals.c.amount).join(t.deals)
                               .where(t.deal_posts.c.position == 1, t.deals.c.stage == "won")).all()
        assert revenue == [(first_post, 12500.0)]
        assert conn.execute(select(t.deal_posts.c.post_id).order_by(t.deal_posts.c.position)).scalars().all() == [first_post, later]
        assert conn.execute(select(t.contacts.c.stage)).scalar() == "customer"
    assert "1 won (12,500.00)" in cli("crm", "status", env={"SOCIALSELL_DB": db_url} if db_url else None).output
    sync(app, clock.now)  # read again: updated in place, never a second deal
    with app.db.read() as conn:
        assert conn.execute(select(t.deals.c.id)).all() == [(row["id"],)]


def test_crm_cli_dry_run_changes_nothing_and_bad_config_is_one_line(cli, make_app, clock, hubspot, workspace):
    app = make_app()
    _lead(app, clock)
    out = cli("crm", "sync", "--dry-run", "--json")
    planned = json.loads(out.output)[0]["planned"]
    assert [p["id"] for p in planned] == ["contact:1", "task:1", "note:1"]
    assert hubspot.requests == [] and _outbox(app) == {}
    assert "would send" in cli("crm", "sync", "--dry-run").output
    ok = cli("crm", "sync")
    assert ok.exit_code == 0 and "created 1 contact, 1 note, 1 task" in ok.output
    assert "hubspot: active" in cli("crm", "status").output
    text = workspace.read_text().replace('token = {env = "HUBSPOT_TOKEN"}', f'token = "{CANARY}"')
    workspace.write_text(text)
    bad = cli("crm", "sync")
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "expected a reference" in bad.output
    assert CANARY not in bad.output


def test_hook_register_jobs_adds_the_sync_job_which_idles_without_config(make_app, clock):
    from socialsell.loop.worker import JobContext, build_jobs

    app = make_app()
    assert "crm:hubspot" in [j.id for j in build_jobs(app)]
    assert job_crm_sync(JobContext(app, "w", clock.now)) is None
    with app.db.read() as conn:
        assert conn.execute(select(t.crm_outbox)).all() == []


def test_enqueue_is_idempotent(make_app, clock):
    app = make_app()
    _lead(app, clock)
    with app.db.write() as conn:
        assert crm.enqueue(conn, app, "hubspot", clock.now) == 3
        assert crm.enqueue(conn, app, "hubspot", clock.now) == 0
        conn.execute(insert(t.crm_outbox).values(
            crm="other", kind="task", local_id=1, created_at=clock.now, updated_at=clock.now))
    assert len(_outbox(app)) == 3  # keyed per CRM: another CRM's rows are its own


def test_sigkill_between_hubspot_and_the_commit_never_duplicates(make_app, clock, hubspot, workspace):
    """A real `socialsell crm sync` process, killed with SIGKILL by the fake HubSpot right after
    it created the contact and before the answer arrived; the next run finds it, creates nothing."""
    app = make_app()
    _lead(app, clock)
    command = [sys.executable, "-m", "socialsell", "--config", str(workspace), "crm", "sync"]
    env = {**os.environ, "HUBSPOT_TOKEN": CANARY}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hubspot.kill_after = ("POST /crm/v3/objects/contacts", proc.pid)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert len(hubspot.objects["contacts"]) == 1
    row = _outbox(app)[("contact", 1)]
    assert row.status == "sending" and row.external_id is None and row.attempts == 1
    with app.db.write() as conn:  # time passes (the subprocesses run on the real clock)
        conn.execute(update(t.crm_outbox).values(attempt_started_at=row.attempt_started_at - timedelta(minutes=2)))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "matched 1 contact" in done.stdout
    assert [len(hubspot.objects[k]) for k in ("contacts", "tasks", "notes")] == [1, 1, 1]
    assert _outbox(app)[("contact", 1)].external_id == next(iter(hubspot.objects["contacts"]))


def test_the_demos_leads_appear_in_hubspot_once_each_and_a_won_deal_comes_back(tmp_path, monkeypatch, pm):
    """Done means: the demo's follow-ups in HubSpot once each, with their tasks and notes; a
    deal closed in HubSpot is revenue on the post that started the conversation."""
    from socialsell.app import App
    from socialsell.demo import run_demo

    config = run_demo(tmp_path / "demo", days=2, pm=pm, echo=lambda line: None) / "socialsell.toml"
    monkeypatch.setenv("HUBSPOT_TOKEN", CANARY)
    with serve(CANARY) as (fake, url):
        with open(config, "a") as f:
            f.write(f'\n[hubspot]\ntoken = {{env = "HUBSPOT_TOKEN"}}\nhost = "{url}"\n')
        app = App.load(str(config), pm=pm, actor="morgan")
        try:
            with app.db.read() as conn:
                follow_ups = conn.execute(select(t.tasks.c.contact_id).distinct()).scalars().all()
                tasks = conn.execute(select(t.tasks.c.id)).scalars().all()
                notes = conn.execute(select(t.engagements.c.id).where(
                    t.engagements.c.contact_id.in_(follow_ups), t.engagements.c.ignored.is_(None))).scalars().all()
            assert len(follow_ups) >= 3
            first = sync(app, app.now())
            assert first.created == {"contact": len(follow_ups), "task": len(tasks), "note": len(notes)}
            ids = [o["properties"]["socialsell_contact_id"] for o in fake.objects["contacts"].values()]
            assert sorted(ids) == sorted(str(c) for c in follow_ups)  # once each
            assert sync(app, app.now()).created == {}  # a second pass creates nothing
            assert [len(fake.objects[k]) for k in ("contacts", "tasks", "notes")] == [len(follow_ups), len(tasks), len(notes)]

            hs_id = next(i for i, o in fake.objects["contacts"].items()
                         if o["properties"]["socialsell_contact_id"] == str(follow_ups[0]))
            deal = fake.add("deals", {"dealname": "Demo deal", "amount": "9000", "dealstage": "closedwon",
                                      "hs_is_closed_won": "true", "createdate": app.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
            fake.associate("contacts", hs_id, "deals", deal)
            assert sync(app, app.now()).deals == 1
            with app.db.read() as conn:
                started = conn.execute(
                    select(t.deliveries.c.post_id).join(t.engagements, t.engagements.c.delivery_id == t.deliveries.c.id)
                    .where(t.engagements.c.contact_id == follow_ups[0]).order_by(t.engagements.c.occurred_at,
                                                                                 t.engagements.c.id).limit(1)).scalar()
                revenue = conn.execute(select(t.deal_posts.c.post_id, t.deals.c.amount, t.deals.c.source)
                                       .join(t.deals).where(t.deal_posts.c.position == 1)).all()
            assert revenue == [(started, 9000.0, "hubspot")]
        finally:
            app.close()


def test_the_loop_job_syncs_every_sync_seconds(make_app, clock, hubspot):
    from socialsell.loop.worker import JobContext

    app = make_app()
    _lead(app, clock)
    assert job_crm_sync(JobContext(app, "w", clock.now))["created"] == {"contact": 1, "task": 1, "note": 1}
    n = len(hubspot.requests)
    clock.advance(seconds=120)
    assert job_crm_sync(JobContext(app, "w", clock.now)) is None and len(hubspot.requests) == n
    clock.advance(seconds=181)
    assert job_crm_sync(JobContext(app, "w", clock.now))["created"] == {}


def test_a_hubspot_deal_adopts_the_reps_own_deal_instead_of_counting_twice(make_app, clock, hubspot):
    from socialsell.sales.tasks import close_task

    app = make_app()
    post_id = _lead(app, clock)
    clock.advance(hours=2)
    close_task(app, 1, "won", 5000, force=True)  # the rep records the win in socialsell...
    sync(app, clock.now)
    (hs_contact,) = hubspot.objects["contacts"]
    deal = hubspot.add("deals", {"dealname": "Acme", "amount": "5200", "dealstage": "closedwon", "hs_is_closed_won": "true",
                                 "createdate": clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    hubspot.associate("contacts", hs_contact, "deals", deal)  # ...and sales records it in HubSpot
    sync(app, clock.now)
    with app.db.read() as conn:
        deals = conn.execute(select(t.deals.c.source, t.deals.c.external_id, t.deals.c.amount, t.deals.c.stage)).all()
        posts = conn.execute(select(t.deal_posts.c.post_id)).scalars().all()
    assert deals == [("hubspot", deal, 5200.0, "won")] and posts == [post_id]  # HubSpot's figure, once


@pytest.mark.parametrize(("section", "expected"), [
    ('token = "pat-raw-token"', "[hubspot] token: expected a reference, not the secret itself"),
    ('token = {vault = "x"}', "[hubspot] token: expected a secret reference"),
    ('token = {env = "NOT_SET_ANYWHERE"}', "nothing found at env NOT_SET_ANYWHERE"),
    ('host = "https://api.hubapi.com"', "[hubspot] token: expected a secret reference"),
    ('token = {env = "HUBSPOT_TOKEN"}\nhost = "ftp://example.com"', "[hubspot] host: expected an http(s) URL"),
    ('token = {env = "HUBSPOT_TOKEN"}\nsync_seconds = "often"', "[hubspot] sync_seconds: expected a whole number from 10 to 86400"),
    ('token = {env = "HUBSPOT_TOKEN"}\ndeals = "yes"', "[hubspot] deals: expected true or false"),
    ('token = {env = "HUBSPOT_TOKEN"}\nsync_second = 60', "[hubspot] sync_second: unknown key (did you mean sync_seconds?)"),
])
def test_bad_hubspot_settings_are_one_line_exit_2_nothing_changed(cli, workspace, monkeypatch, section, expected):
    """Checked against the plugin's declaration (register_settings) whenever plugins load: every
    command that runs plugin code, `run` before any job; a raw secret stops every command."""
    monkeypatch.setenv("HUBSPOT_TOKEN", CANARY)
    workspace.write_text(workspace.read_text() + f"\n[hubspot]\n{section}\n")
    at_load = "expected" in expected or "unknown" in expected  # a missing token stops only the sync
    raw_secret = "token = \"" in section or "vault" in section
    commands = [("crm", "sync"), ("crm", "sync", "--dry-run")]
    commands += [("run", "--once")] if at_load else []
    commands += [("tasks",)] if raw_secret else []  # read commands load no plugin, but a raw secret is never let by
    for args in commands:
        out = cli(*args)
        assert out.exit_code == 2 and out.output.startswith("Error: ") and out.output.count("\n") == 1, out.output
        assert expected in out.output and CANARY not in out.output and "pat-raw-token" not in out.output


def test_no_hubspot_section_is_a_clear_error_for_crm_sync(cli):
    out = cli("crm", "sync")
    assert out.exit_code == 2 and "no [hubspot] section" in out.output
    assert "no [hubspot] section: not syncing" in cli("crm", "status").output


def test_one_worker_syncs_at_a_time(make_app, clock, hubspot):
    from socialsell.loop import leases

    app = make_app()
    _lead(app, clock)
    assert leases.acquire(app.db, "crm:hubspot", "other-host:1:abc", clock.now, 600)
    assert sync(app, clock.now).skipped == "another worker is syncing" and hubspot.requests == []
    clock.advance(seconds=601)  # its lease expired (it died on another machine)
    assert sync(app, clock.now).created == {"contact": 1, "task": 1, "note": 1}


def test_the_loop_job_never_fails_on_a_missing_token(make_app, clock, workspace, cli):
    from socialsell.loop.worker import JobContext

    workspace.write_text(workspace.read_text() + '\n[hubspot]\ntoken = {env = "HUBSPOT_TOKEN_UNSET"}\n')
    app = make_app()
    assert "nothing found at env HUBSPOT_TOKEN_UNSET" in job_crm_sync(JobContext(app, "w", clock.now))["skipped"]
    assert "last error: " in cli("crm", "status").output
