"""The hubspot plugin against a local fake HubSpot, with the real hubspot-api-client.

Nothing of the client is patched: it talks HTTP to tests/hubspot_fake.py on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

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
    hubspot.without_custom_properties()
    result = sync(app, clock.now)
    assert "socialsell_contact_id" in result.stopped and "socialsell crm setup" in result.stopped
    assert {r.status for r in _outbox(app).values()} == {"pending"} and hubspot.objects["contacts"] == {}
    assert "crm hubspot: paused: HubSpot contact search: 400 no such property socialsell_contact_id" in cli("status").output
    # an admin runs setup: a dry run reads and creates nothing, then it creates what is missing
    planned = json.loads(cli("crm", "setup", "--dry-run", "--json").output)
    assert {r["id"]: r["status"] for r in planned}["contacts.socialsell_contact_id"] == "missing: would create"
    assert {r["status"] for r in planned if r["name"].startswith("socialsell_")} == {"missing: would create"}
    assert not any(r["method"] == "POST" and r["path"].startswith("/crm/v3/properties") for r in hubspot.requests)
    hubspot.properties["contacts"].add("socialsell_handles")  # someone made one by hand: left alone
    out = cli("crm", "setup")
    assert out.exit_code == 0 and "socialsell_contact_id" in out.output
    created = [r["body"]["name"] for r in hubspot.calls("POST", "/crm/v3/properties") if "name" in r["body"]
               and not r["path"].endswith("/groups")]
    assert sorted(created) == ["socialsell_contact_id", "socialsell_key", "socialsell_key", "socialsell_profile_urls"]
    assert all(r["body"]["type"] == "string" and r["body"]["groupName"] == "socialsell"
               for r in hubspot.calls("POST", "/crm/v3/properties") if not r["path"].endswith("/groups"))
    again = json.loads(cli("crm", "setup", "--json").output)  # idempotent: all exist, nothing created
    assert {r["status"] for r in again} == {"exists"} and len(hubspot.calls("POST", "/crm/v3/properties")) == len(
        created) + 3  # + one group per object type
    assert cli("crm", "sync").exit_code == 0 and len(hubspot.objects["contacts"]) == 1


def test_setup_takes_a_409_as_exists(make_app, clock, hubspot, cli):
    """Another admin (or a setup that died) created a property between the read and the create."""
    make_app()
    hubspot.without_custom_properties()
    hubspot.fail_next(409, body={"status": "error", "category": "OBJECT_ALREADY_EXISTS",
                                 "message": "Property named 'socialsell_contact_id' already exists."},
                      on="POST /crm/v3/properties/contacts")
    rows = json.loads(cli("crm", "setup", "--json").output)
    assert {r["id"]: r["status"] for r in rows}["contacts.socialsell_contact_id"] == "exists"
    hubspot.token = "pat-revoked"
    bad = cli("crm", "setup")
    assert bad.exit_code == 1 and bad.output.count("\n") == 1 and "401" in bad.output and CANARY not in bad.output


class Crash(BaseException):
    """The process dying between HubSpot's answer and the commit (nothing catches it)."""


@pytest.mark.parametrize("kind", ["contact", "task", "note"])
def test_a_crash_between_the_call_and_the_commit_never_duplicates(db_url, make_app, clock, hubspot, monkeypatch, kind):
    app = make_app(db_url)
    _lead(app, clock)
    real_finish = crm.finish

    def finish_then_crash(conn, row, external, now, **kw):
        real_finish(conn, row, external, now, **kw)
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
    # in no encoding either: raw, URL-encoded, base64 (alone or inside a Basic header)
    forms = {CANARY, quote(CANARY, safe=""), base64.b64encode(CANARY.encode()).decode(),
             base64.b64encode(f"x:{CANARY}".encode()).decode(), base64.urlsafe_b64encode(CANARY.encode()).decode()}
    assert not [f for f in forms for text in texts if f in text]
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


def test_make_demo_crm_shows_the_leads_once_each_and_a_won_deal_in_the_report(tmp_path):
    """Done means: the demo's follow-ups in HubSpot once each, with their tasks and notes; a deal
    closed in HubSpot is revenue in `socialsell report` on the post that started the conversation.
    `make demo-crm` runs tests/demo_crm.py, which checks each of these and exits 1 otherwise."""
    root = Path(__file__).resolve().parent.parent
    assert re.search(r"^demo-crm:.*\n\t\$\(BIN\)/python -m tests\.demo_crm$", (root / "Makefile").read_text(), re.M)
    done = subprocess.run([sys.executable, "-m", "tests.demo_crm", "--dir", str(tmp_path / "demo"), "--days", "2",
                           "--now", "2026-06-10T15:00Z"],  # the same run whatever the hour
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    checks = [line for line in done.stdout.splitlines() if line.startswith(("ok: ", "WRONG: "))]
    assert len(checks) == 6 and all(c.startswith("ok: ") for c in checks), checks
    assert "leads in HubSpot, once each" in checks[0]
    assert "source hubspot, on post #" in checks[4]
    assert "pat-demo" not in done.stdout + done.stderr  # the fake's token is never printed either


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


# --- deals read back by HubSpot's search, at a cost proportional to the changes --------------


def _leads(app, clock, n):
    """``n`` people comment on one post: ``n`` follow-ups; returns the post's id."""
    remote = publish_quietly(app, clock)
    for i in range(n):
        app.channel("sandbox").inject(post_id=remote, kind="comment", handle=f"@p{i}", text=f"price for {i}?",
                                      name=f"Person {i}", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    with app.db.read() as conn:
        return conn.execute(select(t.deliveries.c.post_id).where(t.deliveries.c.remote_id == remote)).scalar()


def _deal_requests(fake, since):
    return [r for r in fake.requests[since:] if "deals" in r["path"] or r["path"].startswith("/crm/v4/")]


def test_deals_cost_requests_in_proportion_to_changes_not_contacts(make_app, clock, hubspot):
    app = make_app()
    _leads(app, clock, 12)
    first = sync(app, clock.now)
    assert first.created["contact"] == 12
    # the first pass reads each newly linked contact's deals once (their history)
    assert len([r for r in hubspot.requests if r["method"] == "GET" and "/associations/deals" in r["path"]]) == 12
    ids = {o["properties"]["socialsell_contact_id"]: i for i, o in hubspot.objects["contacts"].items()}

    clock.advance(minutes=10)
    n = len(hubspot.requests)
    assert sync(app, clock.now).deals == 0
    (search,) = _deal_requests(hubspot, n)  # nothing changed: one search, whatever the number of contacts
    assert search["path"] == "/crm/v3/objects/deals/search"
    assert search["body"]["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert search["body"]["filterGroups"][0]["filters"][0]["operator"] == "GTE"

    clock.advance(minutes=30)  # sales win three deals in HubSpot, and a deal of nobody we know moves
    for contact in ("2", "5", "9"):
        deal = hubspot.add("deals", {"dealname": f"deal {contact}", "amount": "1000", "dealstage": "closedwon",
                                     "hs_is_closed_won": "true"})
        hubspot.associate("contacts", ids[contact], "deals", deal)
    stranger = hubspot.add("contacts", {"email": "someone@else.example"})
    hubspot.associate("contacts", stranger, "deals", hubspot.add("deals", {"dealname": "not ours", "amount": "5"}))
    clock.advance(minutes=20)
    n = len(hubspot.requests)
    assert sync(app, clock.now).deals == 3
    paths = [r["path"] for r in _deal_requests(hubspot, n)]
    assert paths == ["/crm/v3/objects/deals/search", "/crm/v4/associations/deals/contacts/batch/read"]
    with app.db.read() as conn:
        assert conn.execute(select(t.deals.c.title).order_by(t.deals.c.title)).scalars().all() == [
            "deal 2", "deal 5", "deal 9"]
    # the next passes search again from before the last change (HubSpot's index lags), but the
    # deals read at that modification time are not read again: one request, nothing stored
    for _ in range(2):
        clock.advance(minutes=1)
        n = len(hubspot.requests)
        assert sync(app, clock.now).deals == 0
        assert [r["path"] for r in _deal_requests(hubspot, n)] == ["/crm/v3/objects/deals/search"]
    with app.db.read() as conn:
        assert len(conn.execute(select(t.deals.c.id)).all()) == 3


def test_a_deal_moved_in_hubspot_later_is_read_again(make_app, clock, hubspot):
    app = make_app()
    _lead(app, clock)
    sync(app, clock.now)
    (hs_contact,) = hubspot.objects["contacts"]
    clock.advance(hours=1)
    deal = hubspot.add("deals", {"dealname": "Acme", "amount": "4000", "dealstage": "presentationscheduled"})
    hubspot.associate("contacts", hs_contact, "deals", deal)
    clock.advance(minutes=15)
    sync(app, clock.now)
    with app.db.read() as conn:
        assert conn.execute(select(t.deals.c.stage, t.deals.c.amount)).one() == ("proposal", 4000.0)
    clock.advance(days=2)
    hubspot.change("deals", deal, {"dealstage": "closedwon", "hs_is_closed_won": "true", "amount": "4500"})
    clock.advance(minutes=15)
    sync(app, clock.now)
    with app.db.read() as conn:
        assert conn.execute(select(t.deals.c.stage, t.deals.c.amount)).one() == ("won", 4500.0)


def test_the_search_pages_by_200_and_starts_again_past_10000_results(clock):
    """The client against the search API's real limits: pages of at most 200, and no page past
    the 10,000th result (the fake refuses it with a 400, as HubSpot does)."""
    from socialsell_hubspot.client import HubSpot

    ticks = iter(range(10**9))
    start = clock.now
    with serve(CANARY, lambda: start + timedelta(seconds=next(ticks))) as (fake, url):
        for i in range(10_250):
            fake.add("deals", {"dealname": f"d{i}"})
        hs = HubSpot(CANARY, url, clock.now, clock.now.tzinfo)
        since = int(start.timestamp() * 1000)
        seen = [d["id"] for page in hs.deals_modified_since(since) for d in page]
    assert set(seen) == set(fake.objects["deals"])  # every deal, the ones past 10,000 included
    assert len(seen) - len(set(seen)) <= 1  # the restart re-reads only the deal at its boundary
    searches = [r["body"] for r in fake.requests]
    assert all(b["limit"] == 200 for b in searches)
    assert all(int(b.get("after") or 0) + b["limit"] <= 10_000 for b in searches)
    restarts = [b for b in searches if not b.get("after")]
    assert len(restarts) == 2 and int(restarts[1]["filterGroups"][0]["filters"][0]["value"]) > since


def test_fake_search_refuses_what_hubspot_refuses(clock):
    import urllib3

    with serve(CANARY, clock) as (fake, url):
        http = urllib3.PoolManager()

        def search(body):
            r = http.request("POST", f"{url}/crm/v3/objects/deals/search", body=json.dumps(body),
                             headers={"Authorization": f"Bearer {CANARY}", "Content-Type": "application/json"})
            return r.status

        assert search({"limit": 201}) == 400
        assert search({"limit": 100, "after": "9950"}) == 400
        assert search({"sorts": [{"propertyName": "a"}, {"propertyName": "b"}]}) == 400
        assert search({"filterGroups": [{"filters": [{"propertyName": "a", "operator": "EQ", "value": "1"}]}] * 6}) == 400
        assert search({"limit": 200, "after": "9800"}) == 200


# --- stages in the same pass, merges ------------------------------------------------------------


def test_a_stage_changed_by_a_deal_is_pushed_in_the_same_pass(make_app, clock, hubspot):
    app = make_app()
    _lead(app, clock)
    sync(app, clock.now)
    (hs_contact,) = hubspot.objects["contacts"]
    assert hubspot.objects["contacts"][hs_contact]["properties"]["lifecyclestage"] != "customer"
    clock.advance(hours=2)
    deal = hubspot.add("deals", {"dealname": "Won", "amount": "700", "dealstage": "closedwon", "hs_is_closed_won": "true"})
    hubspot.associate("contacts", hs_contact, "deals", deal)
    clock.advance(minutes=15)
    result = sync(app, clock.now)
    # the won deal made them a customer in socialsell, and HubSpot hears it in this very pass
    assert result.deals == 1 and result.updated.get("contact") == 1
    assert hubspot.objects["contacts"][hs_contact]["properties"]["lifecyclestage"] == "customer"
    patches = len(hubspot.calls("PATCH"))
    clock.advance(minutes=15)
    assert sync(app, clock.now).updated == {}  # nothing left over for the next pass
    assert len(hubspot.calls("PATCH")) == patches


def test_a_stage_changed_in_socialsell_goes_out_on_the_next_pass(make_app, clock, hubspot, cli):
    app = make_app()
    _lead(app, clock)
    sync(app, clock.now)
    (hs_contact,) = hubspot.objects["contacts"]
    clock.advance(minutes=5)
    assert cli("deal", "new", "1", "--amount", "900").exit_code == 0  # an open deal: an opportunity
    sync(app, clock.now)
    assert hubspot.objects["contacts"][hs_contact]["properties"]["lifecyclestage"] == "opportunity"


def test_a_merge_moves_the_hubspot_task_and_notes_to_the_surviving_contact(db_url, make_app, clock, hubspot):
    from socialsell.sales.contacts import merge_contacts, unmerge_contact

    app = make_app(db_url)
    remote = publish_quietly(app, clock)
    for handle, name in (("@dana", "Dana Whitfield"), ("@dana_w", "Dana W")):
        app.channel("sandbox").inject(post_id=remote, kind="comment", handle=handle, text=f"{handle}: pricing?",
                                      name=name, at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    sync(app, clock.now)
    hs = {o["properties"]["socialsell_contact_id"]: i for i, o in hubspot.objects["contacts"].items()}
    assert len(hs) == 2 and len(hubspot.objects["tasks"]) == len(hubspot.objects["notes"]) == 2
    gone_task = next(i for i, o in hubspot.objects["tasks"].items() if hubspot.associations[("tasks", i, "contacts")] == [hs["2"]])
    gone_note = next(i for i, o in hubspot.objects["notes"].items() if hubspot.associations[("notes", i, "contacts")] == [hs["2"]])

    clock.advance(minutes=5)
    with app.db.write() as conn:  # one rep owns both (two owners would need the lead)
        conn.execute(update(t.contacts).values(owner="alice"))
    merge_contacts(app, 1, 2)  # the same person: contact 2 folds into 1
    result = sync(app, clock.now)
    assert result.moved == {"task": 1, "note": 1} and result.created == {}
    assert len(hubspot.objects["tasks"]) == len(hubspot.objects["notes"]) == 2  # moved, never duplicated
    assert hubspot.associations[("tasks", gone_task, "contacts")] == [hs["1"]]
    assert hubspot.associations[("notes", gone_note, "contacts")] == [hs["1"]]
    assert sorted(hubspot.associations[("contacts", hs["1"], "tasks")]) == sorted(hubspot.objects["tasks"])
    assert hubspot.associations[("contacts", hs["2"], "notes")] == []
    assert hubspot.objects["tasks"][gone_task]["properties"]["hs_task_status"] == "COMPLETED"  # dismissed: merged
    clock.advance(minutes=5)
    assert sync(app, clock.now).moved == {}  # settled

    clock.advance(minutes=5)
    unmerge_contact(app, 2)  # undone: they go back
    assert sync(app, clock.now).moved == {"task": 1, "note": 1}
    assert hubspot.associations[("tasks", gone_task, "contacts")] == [hs["2"]]
    assert hubspot.associations[("notes", gone_note, "contacts")] == [hs["2"]]
    assert len(hubspot.objects["tasks"]) == len(hubspot.objects["notes"]) == 2


def test_a_crash_between_attaching_and_detaching_is_repaired(make_app, clock, hubspot):
    from socialsell.sales.contacts import merge_contacts

    app = make_app()
    remote = publish_quietly(app, clock)
    for handle in ("@dana", "@dana_w"):
        app.channel("sandbox").inject(post_id=remote, kind="comment", handle=handle, text="pricing?", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    sync(app, clock.now)
    hs = {o["properties"]["socialsell_contact_id"]: i for i, o in hubspot.objects["contacts"].items()}
    clock.advance(minutes=5)
    with app.db.write() as conn:
        conn.execute(update(t.contacts).values(owner="alice"))
    merge_contacts(app, 1, 2)
    hubspot.fail_next(503, on="DELETE " + next(
        f"/crm/v4/objects/tasks/{i}/associations/contacts/{hs['2']}" for i in hubspot.objects["tasks"]
        if hubspot.associations[("tasks", i, "contacts")] == [hs["2"]]))
    assert sync(app, clock.now).retrying == 1
    clock.advance(minutes=3)
    sync(app, clock.now)
    assert all(hubspot.associations[("tasks", i, "contacts")] == [hs["1"]] for i in hubspot.objects["tasks"])
    assert len(hubspot.objects["tasks"]) == 2


def test_report_shows_a_hubspot_won_deal_against_the_post_that_started_it(db_url, make_app, clock, hubspot, cli):
    app = make_app(db_url)
    first_post = _lead(app, clock)
    sync(app, clock.now)
    (hs_contact,) = hubspot.objects["contacts"]
    clock.advance(days=1)
    deal = hubspot.add("deals", {"dealname": "Acme, 20 seats", "amount": "12500", "dealstage": "closedwon",
                                 "hs_is_closed_won": "true", "closedate": _iso(clock.now)})
    hubspot.associate("contacts", hs_contact, "deals", deal)
    clock.advance(minutes=15)
    sync(app, clock.now)
    env = {"SOCIALSELL_DB": db_url} if db_url else None
    out = cli("report", "--section", "attribution", "--format", "json", env=env)
    assert out.exit_code == 0, out.output
    rows = {r["id"]: r for r in _rows(json.loads(out.output))}
    assert rows[f"attribution.post.{first_post}"]["revenue"] == 12500.0
    (won,) = [r for r in rows.values() if r["id"].startswith("attribution.deal.")]
    assert (won["source"], won["amount"], won["posts"]) == ("hubspot", 12500.0, f"#{first_post}")
    table = cli("report", "--section", "attribution", env=env).output
    assert "hubspot" in table and "12,500" in table


def _iso(at):
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _rows(report):
    """Every row of a report's JSON, whatever its nesting (sections, tables)."""
    if isinstance(report, dict):
        if "id" in report and isinstance(report.get("id"), str) and "." in report["id"]:
            yield report
        for v in report.values():
            yield from _rows(v)
    elif isinstance(report, list):
        for v in report:
            yield from _rows(v)


def test_a_task_reassigned_in_socialsell_moves_the_owner_in_hubspot(make_app, clock, hubspot):
    """`task assign` changes the contact's owner too: the next pass sends both (nothing lost)."""
    from socialsell.sales.tasks import assign_task

    hubspot.owners.append({"id": "9002", "email": "bob@example.com"})
    app = make_app()
    _lead(app, clock)
    sync(app, clock.now)
    (contact,) = hubspot.objects["contacts"].values()
    (task,) = hubspot.objects["tasks"].values()
    assert contact["properties"]["hubspot_owner_id"] == task["properties"]["hubspot_owner_id"] == "9001"
    clock.advance(minutes=5)
    assign_task(app, 1, "bob")
    assert sync(app, clock.now).updated == {"contact": 1, "task": 1}
    assert contact["properties"]["hubspot_owner_id"] == task["properties"]["hubspot_owner_id"] == "9002"
