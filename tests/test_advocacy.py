"""Issue 18: advocacy. Reps share brand posts from their own accounts (docs/advocacy.md)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from socialsell.db import schema as t
from socialsell.loop.polling import poll_account
from socialsell.loop.publishing import publish_due
from socialsell.marketing.posts import create_post, get_post

REP_ACCOUNTS = """
[[accounts]]
name = "alice-sandbox"
channel = "sandbox"
owner = "alice"

[[accounts]]
name = "bob-sandbox"
channel = "sandbox"
owner = "bob"
"""


@pytest.fixture
def reps(workspace):
    """The test workspace with one own sandbox account for alice and one for bob."""
    workspace.write_text(workspace.read_text() + REP_ACCOUNTS)
    return workspace


def _published_shareable(app, clock, text="Our new pricing page is live https://example.com/pricing",
                         suggested="Worth a look") -> int:
    """A shareable brand post, published on the brand's sandbox (its simulated audience off)."""
    for name in ("sandbox", "alice-sandbox", "bob-sandbox"):
        app.channel(name).audience = False
    post_id = create_post(app, accounts=["sandbox"], text=text, at=clock.now + timedelta(minutes=1),
                          shareable=True, suggested_comment=suggested)
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    assert get_post(app, post_id)["deliveries"][0]["status"] == "published"
    return post_id


def _snapshot(app) -> tuple:
    """Everything a refused command must leave as it was."""
    with app.db.read() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()
                     for table in (t.deliveries, t.shares, t.posts, t.events))


# --- settings ------------------------------------------------------------------------------------


def test_owner_must_be_a_rep_with_did_you_mean(cli, reps):
    reps.write_text(reps.read_text().replace('owner = "bob"', 'owner = "bobb"'))
    r = cli("share", actor="alice")
    assert r.exit_code == 2
    assert r.output.count("\n") == 1
    assert "[[accounts]] bob-sandbox owner" in r.output and "did you mean bob?" in r.output and "'bobb'" in r.output


def test_owner_is_kept_as_written_in_the_team(make_app, reps):
    reps.write_text(reps.read_text().replace('owner = "bob"', 'owner = "BOB"'))
    assert make_app().workspace.account("bob-sandbox").owner == "bob"


# --- who may post where ----------------------------------------------------------------------------


def test_a_brand_post_cannot_target_a_reps_account(cli, reps, app):
    before = _snapshot(app)
    r = cli("post", "new", "-c", "alice-sandbox", "--text", "brand news", "--at", "+1h", actor="morgan")
    assert r.exit_code == 2 and r.output.count("\n") == 1
    assert "alice-sandbox is alice's own account: brand posts cannot go there" in r.output
    r = cli("campaign", "new", "Spring", "-c", "bob-sandbox", actor="morgan")
    assert r.exit_code == 2 and "bob-sandbox is bob's own account" in r.output
    assert _snapshot(app) == before


def test_only_the_owner_connects_their_account(cli, reps):
    r = cli("channels", "connect", "alice-sandbox", actor="bob")
    assert r.exit_code == 2 and r.output == (
        "Error: alice-sandbox is alice's own account: only alice connects it (--as alice)\n")
    assert cli("channels", "connect", "alice-sandbox", actor="alice").exit_code == 0


# --- listing and sharing -----------------------------------------------------------------------------


def test_share_lists_published_shareable_posts_only(cli, reps, app, clock):
    shareable = _published_shareable(app, clock)
    create_post(app, accounts=["sandbox"], text="not for reps", at=clock.now + timedelta(minutes=1))
    create_post(app, accounts=["sandbox"], text="later", at=clock.now + timedelta(days=1), shareable=True)
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    rows = json.loads(cli("share", "--json", actor="alice").output)
    assert [r["id"] for r in rows] == [shareable]
    assert rows[0]["suggested_comment"] == "Worth a look" and rows[0]["shared"] == []
    assert rows[0]["published"][0]["account"] == "sandbox"


def test_share_limit_says_when_it_cuts(cli, reps, app, clock):
    for i in range(3):
        _published_shareable(app, clock, text=f"post {i}", suggested=None)
    r = cli("share", "--json", "--limit", "2", actor="alice")
    assert r.exit_code == 0 and len(json.loads(r.stdout)) == 2
    assert r.stderr == "showing 2 of 3; --limit 0 for all\n"
    r = cli("share", "--json", "--limit", "0", actor="alice")
    assert len(json.loads(r.stdout)) == 3 and r.stderr == ""


def test_a_rep_shares_with_their_own_words_as_a_quote(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    brand_remote = get_post(app, post_id)["deliveries"][0]["remote_id"]
    r = cli("share", str(post_id), "--text", "We built this for teams like yours", "--json", actor="alice")
    assert r.exit_code == 0, r.output
    [row] = json.loads(r.output)
    assert row["account"] == "alice-sandbox" and row["status"] == "scheduled"
    publish_due(app, "w", clock.now)
    delivery = next(d for d in get_post(app, post_id)["deliveries"] if d["account"] == "alice-sandbox")
    assert delivery["status"] == "published"
    with app.channel("alice-sandbox").state(write=False) as s:
        [sent] = s["posts"]
    assert sent["shares"] == brand_remote and sent["text"] == "We built this for teams like yours"
    with app.db.read() as conn:
        share = conn.execute(select(t.shares)).mappings().one()
    assert (share["rep"], share["mode"], share["target_remote_id"]) == ("alice", "quote", brand_remote)
    listed = json.loads(cli("share", "--json", actor="alice").output)
    assert listed[0]["shared"] == [{"account": "alice-sandbox", "status": "published", "mode": "quote",
                                    "url": delivery["remote_url"]}]


def test_without_words_the_suggested_comment_is_used_and_without_either_a_repost(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), actor="alice").exit_code == 0
    second = _published_shareable(app, clock, text="another one", suggested=None)
    assert cli("share", str(second), actor="alice").exit_code == 0
    with app.db.read() as conn:
        shares = {r["target_delivery_id"]: (r["mode"], r["comment"]) for r in conn.execute(select(t.shares)).mappings()}
    assert sorted(shares.values(), key=str) == [("quote", "Worth a look"), ("repost", None)]
    publish_due(app, "w", clock.now)
    with app.channel("alice-sandbox").state(write=False) as s:
        assert [(p["text"], bool(p.get("shares"))) for p in s["posts"]] == [("Worth a look", True), ("", True)]


def test_share_at_a_later_time_waits_for_it(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), "--at", "+2h", actor="alice").exit_code == 0
    assert not publish_due(app, "w", clock.now).published
    clock.advance(hours=2, minutes=1)
    assert len(publish_due(app, "w", clock.now).published) == 1


def test_the_guardrails_hold_for_a_share(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert 'banned_words = ["guarantee"' in reps.read_text()  # as `socialsell init` writes it
    before = _snapshot(app)
    r = cli("share", str(post_id), "--text", "I guarantee you will love it", actor="alice")
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "banned word 'guarantee'" in r.output
    assert _snapshot(app) == before


# --- bad input: one line, exit 2, nothing changed ------------------------------------------------------


@pytest.mark.parametrize("args, actor, expected", [
    (["share", "{plain}"], "alice", "is not shareable"),
    (["share", "{post}", "--channel", "bob-sandbox"], "alice", "bob-sandbox is bob's own account: only bob can share from it"),
    (["share", "{post}", "--channel", "sandbox"], "alice", "sandbox is a brand account, not alice's"),
    (["share", "{post}"], "zed", "--as 'zed' is not in [team]"),
    (["share", "{post}"], "morgan", "'morgan' is not a rep of [[team.reps]]"),
    (["share", "999999"], "alice", "no post 999999"),
    (["share", "{post}", "--at", "yesterday 09:00"], "alice", "--at"),
    (["share", "{post}", "--channel", "nope"], "alice", "unknown channel account 'nope'"),
    (["share", "--text", "hi"], "alice", "go with a post id"),
    (["share", "{post}", "--text", "bad\x00byte"], "alice", "control character"),
    (["share", "-1"], "alice", ""),
])
def test_bad_share_input_is_one_line_exit_2_and_changes_nothing(cli, reps, app, clock, args, actor, expected):
    post_id = _published_shareable(app, clock)
    plain = create_post(app, accounts=["sandbox"], text="brand only", at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    before = _snapshot(app)
    r = cli(*[a.format(post=post_id, plain=plain) for a in args], actor=actor)
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") == 1 and r.output.startswith("Error: ") and expected in r.output
    assert _snapshot(app) == before


def test_sharing_twice_from_one_account_is_refused(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), actor="alice").exit_code == 0
    before = _snapshot(app)
    r = cli("share", str(post_id), actor="alice")
    assert r.exit_code == 2 and "alice-sandbox has shared post" in r.output
    assert _snapshot(app) == before


def test_a_rep_without_an_account_is_told_how_to_add_one(cli, workspace, app, clock):
    r = cli("share", actor="alice")
    assert r.exit_code == 2 and 'alice has no account of their own' in r.output and 'owner = "alice"' in r.output


# --- exactly once ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "My take"])
def test_a_share_whose_outcome_is_unknown_is_reconciled_never_sent_twice(cli, reps, app, clock, text):
    post_id = _published_shareable(app, clock, suggested=None)
    args = ["share", str(post_id)] + (["--text", text] if text else [])
    assert cli(*args, actor="alice").exit_code == 0
    app.channel("alice-sandbox").queue_fault("timeout_after_send")
    report = publish_due(app, "w", clock.now)
    assert len(report.unknown) == 1
    clock.advance(minutes=5)
    report = publish_due(app, "w", clock.now)
    assert report.reconciled == report.published and len(report.published) == 1
    with app.channel("alice-sandbox").state(write=False) as s:
        assert len(s["posts"]) == 1  # went out once, found by what it shares
    clock.advance(minutes=5)
    assert not publish_due(app, "w", clock.now)


def test_a_share_that_did_not_go_out_is_sent_once_after_reconcile(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), actor="alice").exit_code == 0
    with app.db.write() as conn:  # as if the worker died after committing the intent, before the call
        conn.execute(t.deliveries.update().where(t.deliveries.c.account_id == app.account_id("alice-sandbox"))
                     .values(status="unknown", unknown_cause="lost", attempt_id="x", attempts=1,
                             attempt_started_at=clock.now - timedelta(minutes=5)))
    report = publish_due(app, "w", clock.now)
    assert report.reconciled and not report.published  # not on the network: scheduled again
    report = publish_due(app, "w", clock.now)
    assert len(report.published) == 1
    with app.channel("alice-sandbox").state(write=False) as s:
        assert len(s["posts"]) == 1


def test_a_paused_rep_account_does_not_stop_the_brand(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), actor="alice").exit_code == 0
    app.channel("alice-sandbox").queue_fault("rate_limit")
    publish_due(app, "w", clock.now)
    create_post(app, accounts=["sandbox"], text="brand goes on", at=clock.now + timedelta(seconds=10))
    clock.advance(seconds=30)  # inside alice's 60 s rate-limit window
    report = publish_due(app, "w", clock.now)
    assert len(report.published) == 1  # the brand's post; alice's share waits out her own limit
    with app.db.read() as conn:
        limits = dict(conn.execute(select(t.accounts.c.name, t.accounts.c.rate_limited_until)).all())
    assert limits["alice-sandbox"] is not None and limits["sandbox"] is None


# --- routing ------------------------------------------------------------------------------------------


def test_a_reply_to_a_reps_share_goes_to_that_rep_brand_routing_unchanged(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), "--text", "My take", actor="bob").exit_code == 0
    publish_due(app, "w", clock.now)
    share = next(d for d in get_post(app, post_id)["deliveries"] if d["account"] == "bob-sandbox")
    brand = next(d for d in get_post(app, post_id)["deliveries"] if d["account"] == "sandbox")
    # dana is in Germany: alice's territory; on bob's own post she is bob's
    app.channel("bob-sandbox").inject(post_id=share["remote_id"], kind="reply", handle="@dana",
                                      text="How does pricing work for 20 seats?")
    app.channel("sandbox").inject(post_id=brand["remote_id"], kind="reply", handle="@erik",
                                  text="Does this work for us? pricing?")
    clock.advance(minutes=1)
    poll_account(app, "bob-sandbox", "w")
    poll_account(app, "sandbox", "w")
    tasks = {r["handle"]: r["owner"] for r in json.loads(cli("tasks", "--all", "--json", actor="morgan").output)
             for r in [{"handle": r["contact"]["handles"][0]["handle"], "owner": r["owner"]}]}
    assert tasks["@dana"] == "bob"
    assert tasks["@erik"] == "alice"  # round-robin as before (bob has dana): the brand's rules apply


# --- a rep leaves ------------------------------------------------------------------------------------


def _alices_work(app, reps, clock):
    """Alice's own account with a waiting share; two contacts of hers with open tasks, one of
    them with an open deal."""
    from socialsell.sales.deals import open_deal

    from .test_sales import eng, run

    post_id = _published_shareable(app, clock)
    share_post_as(app, "alice", post_id, at=clock.now + timedelta(hours=1))
    tasks = run(app, eng("@dana", "comment", "pricing for 20 seats?"), eng("@sam", "comment", "demo please?"),
                account="alice-sandbox").tasks_created
    assert {task["owner"] for task in tasks} == {"alice"}
    open_deal(app, tasks[0]["contact_id"], amount=5000)
    return tasks


def share_post_as(app, rep, post_id, **kwargs):
    from socialsell.marketing.advocacy import share_post

    actor, app.actor = app.actor, rep
    try:
        return share_post(app, post_id, **kwargs)
    finally:
        app.actor = actor


def test_team_leave_pauses_the_reps_accounts_and_hands_over_in_one_command(cli, reps, app, clock):
    _alices_work(app, reps, clock)
    clock.advance(minutes=5)
    r = cli("team", "leave", "alice", "--to", "bob", "--json", actor="morgan")
    assert r.exit_code == 0, r.output
    [done] = json.loads(r.output)
    assert done == {"id": "alice", "rep": "alice", "accounts_paused": ["alice-sandbox"], "shares_cancelled": 1,
                    "tasks": 2, "deals": 1, "contacts": 2, "to": {"bob": 2}}
    with app.db.read() as conn:
        assert conn.execute(select(t.accounts.c.status).where(t.accounts.c.name == "alice-sandbox")).scalar() == "paused"
        assert set(conn.execute(select(t.tasks.c.owner)).scalars()) == {"bob"}
        assert set(conn.execute(select(t.deals.c.owner)).scalars()) == {"bob"}
        assert set(conn.execute(select(t.contacts.c.owner)).scalars()) == {"bob"}
        # every row handed over is a change a CRM sends again (docs/crm.md: its updated_at)
        for table in (t.tasks, t.deals, t.contacts):
            assert set(conn.execute(select(table.c.updated_at)).scalars()) == {clock.now}, table.name
    clock.advance(hours=2)
    assert not publish_due(app, "w", clock.now).published  # her waiting share never goes out
    assert "alice-sandbox" in cli("status", actor="morgan").output


def test_team_leave_round_robin_spreads_the_work(cli, reps, app, clock):
    reps.write_text(reps.read_text().replace('[[team.reps]]\nname = "bob"', '[[team.reps]]\nname = "carol"\n\n[[team.reps]]\nname = "bob"'))
    _alices_work(app, reps, clock)
    r = cli("team", "leave", "alice", actor="morgan")
    assert r.exit_code == 0, r.output
    assert "2 open tasks, 1 open deals, 2 contacts handed over (bob 1, carol 1)" in r.output
    with app.db.read() as conn:
        owners = dict(conn.execute(select(t.tasks.c.contact_id, t.tasks.c.owner)).all())
        deal_owner = dict(conn.execute(select(t.deals.c.contact_id, t.deals.c.owner)).all())
    assert sorted(owners.values()) == ["bob", "carol"]
    assert all(owners[cid] == owner for cid, owner in deal_owner.items())  # a person's task and deal stay together


@pytest.mark.parametrize("args, actor, expected", [
    (["team", "leave", "alice", "--to", "bob"], "bob", "only the lead (morgan)"),
    (["team", "leave", "zed"], "morgan", "rep 'zed' is not a rep"),
    (["team", "leave", "alice", "--to", "zed"], "morgan", "--to 'zed' is not a rep"),
    (["team", "leave", "alice", "--to", "alice"], "morgan", "is the rep who leaves"),
])
def test_bad_team_leave_is_one_line_exit_2_and_changes_nothing(cli, reps, app, clock, args, actor, expected):
    _alices_work(app, reps, clock)
    before = _snapshot(app)
    with app.db.read() as conn:
        owners = sorted(conn.execute(select(t.tasks.c.id, t.tasks.c.owner)).all())
    r = cli(*args, actor=actor)
    assert r.exit_code == 2 and r.output.count("\n") == 1 and expected in r.output, r.output
    assert _snapshot(app) == before
    with app.db.read() as conn:
        assert sorted(conn.execute(select(t.tasks.c.id, t.tasks.c.owner)).all()) == owners
        assert conn.execute(select(t.accounts.c.status).where(t.accounts.c.name == "alice-sandbox")).scalar() == "active"


# --- the report ---------------------------------------------------------------------------------------


def _shared_and_won(cli, app, clock):
    """alice shares a brand post with her words; dana replies there; alice wins a deal with her."""
    from socialsell.loop.metrics import refresh_metrics
    from socialsell.sales.deals import open_deal, win_deal

    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), "--text", "My take", actor="alice").exit_code == 0
    publish_due(app, "w", clock.now)
    share = next(d for d in get_post(app, post_id)["deliveries"] if d["account"] == "alice-sandbox")
    app.channel("alice-sandbox").inject(post_id=share["remote_id"], kind="reply", handle="@dana",
                                        text="How does pricing work for 20 seats?")
    clock.advance(minutes=30)
    poll_account(app, "alice-sandbox", "w")
    refresh_metrics(app, "w")
    with app.db.read() as conn:
        task = conn.execute(select(t.tasks)).mappings().one()
    assert task["owner"] == "alice"
    deal = open_deal(app, task["contact_id"], amount=1200, task_id=task["id"])
    win_deal(app, deal["id"])
    return post_id


def test_the_report_credits_each_reps_shares_beside_the_brand(cli, reps, app, clock):
    _shared_and_won(cli, app, clock)
    r = cli("report", "--section", "advocacy", "--format", "json", actor="morgan")
    assert r.exit_code == 0, r.output
    rows = {row["id"]: row for row in json.loads(r.output)}
    brand, alice, bob = rows["advocacy.source.brand"], rows["advocacy.source.alice"], rows["advocacy.source.bob"]
    assert (brand["posts"], alice["posts"], bob["posts"]) == (1, 1, 0)
    assert isinstance(brand["reach"], int) and isinstance(alice["reach"], int) and alice["reach"] > 0
    assert (alice["engagements"], alice["leads"], alice["won"], alice["revenue"]) == (1, 1, 1, 1200.0)
    assert (brand["engagements"], brand["leads"], brand["revenue"]) == (0, 0, 0)
    [share] = [row for row in rows.values() if row["id"].startswith("advocacy.share.")]
    assert (share["rep"], share["mode"], share["revenue"]) == ("alice", "quote", 1200.0)
    table = cli("report", "--section", "advocacy", actor="morgan", env={"COLUMNS": "120"}).output
    assert "Brand and reps side by side" in table and "alice" in table and "brand" in table
    csv_out = cli("report", "--section", "advocacy", "--format", "csv", actor="morgan").output
    assert "advocacy.source.alice" in csv_out and "advocacy.source.brand" in csv_out
    html = cli("report", "--section", "advocacy", "--format", "html", actor="morgan").output
    assert "Brand and reps side by side" in html and 'data-id="advocacy.source.alice"' in html
    assert html.count("<svg") + html.count("<img") >= 1  # the chart of reach, brand beside reps


def test_the_marketing_section_counts_the_brands_posts_and_the_reps_shares_apart(cli, reps, app, clock):
    """Brand reach and frequency are the brand's deliveries: alice's share (her network's reach,
    her lead) is one row apart, "shared by reps", never summed into the brand's figures."""
    _shared_and_won(cli, app, clock)
    rows = {row["id"]: row for row in json.loads(cli("report", "--format", "json", actor="morgan").output)}
    advocacy = rows["advocacy.source.brand"], rows["advocacy.source.alice"]
    brand, shared = rows["marketing.total.all"], rows["marketing.total.shared_by_reps"]
    for key in ("posts", "reach", "impressions", "engagements", "leads"):
        assert (brand[key], shared[key]) == (advocacy[0][key], advocacy[1][key]), key
    assert (brand["leads"], shared["leads"], shared["engagements"]) == (0, 1, 1)
    assert isinstance(brand["frequency"], float)  # one brand delivery: its own frequency, not n/a
    assert [r["channel"] for r in rows.values() if r["id"].startswith("marketing.channel.")] == ["sandbox"]


def test_a_reps_account_is_polled_within_its_own_rate_limit(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), "--text", "My take", actor="alice").exit_code == 0
    publish_due(app, "w", clock.now)
    app.channel("alice-sandbox").queue_fault("rate_limit", on="poll")
    assert poll_account(app, "alice-sandbox", "w").error
    brand = get_post(app, post_id)["deliveries"][0]
    app.channel("sandbox").inject(post_id=brand["remote_id"], kind="reply", handle="@dana", text="pricing?")
    assert poll_account(app, "sandbox", "w").new == 1  # the brand's account is not held back
    assert poll_account(app, "alice-sandbox", "w").skipped.startswith("rate limited until")
    with app.db.read() as conn:
        limits = dict(conn.execute(select(t.accounts.c.name, t.accounts.c.rate_limited_until)).all())
    assert limits["sandbox"] is None and limits["alice-sandbox"] > clock.now


# --- on SQLite and PostgreSQL -------------------------------------------------------------------------


def test_share_route_report_and_leave_on_both_databases(db_url, reps, make_app, clock, cli):
    """The whole path on each database: share, exactly once, the reply routed to the rep, the
    report's side-by-side rows, then the rep leaves."""
    app = make_app(db_url)
    env = {"SOCIALSELL_DB": db_url} if db_url else None
    post_id = _published_shareable(app, clock)
    r = cli("share", str(post_id), "--text", "My take", actor="alice", env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(cli("share", "--json", actor="alice", env=env).output)[0]["shared"][0]["mode"] == "quote"
    publish_due(app, "w", clock.now)
    assert not publish_due(app, "w", clock.now)  # once
    share = next(d for d in get_post(app, post_id)["deliveries"] if d["account"] == "alice-sandbox")
    app.channel("alice-sandbox").inject(post_id=share["remote_id"], kind="reply", handle="@dana", text="pricing for 20?")
    clock.advance(minutes=5)
    poll_account(app, "alice-sandbox", "w")
    with app.db.read() as conn:
        assert conn.execute(select(t.tasks.c.owner)).scalar_one() == "alice"
    clock.advance(minutes=1)
    rows = {row["id"]: row for row in json.loads(cli("report", "--section", "advocacy", "--format", "json",
                                                     actor="morgan", env=env).output)}
    assert (rows["advocacy.source.alice"]["posts"], rows["advocacy.source.alice"]["leads"]) == (1, 1)
    assert rows["advocacy.source.brand"]["posts"] == 1
    r = cli("team", "leave", "alice", "--to", "bob", "--json", actor="morgan", env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["tasks"] == 1
    with app.db.read() as conn:
        assert conn.execute(select(t.tasks.c.owner)).scalar_one() == "bob"


def test_nobody_else_replies_from_a_reps_own_account(cli, reps, app, clock):
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), "--text", "My take", actor="alice").exit_code == 0
    publish_due(app, "w", clock.now)
    share = next(d for d in get_post(app, post_id)["deliveries"] if d["account"] == "alice-sandbox")
    app.channel("alice-sandbox").inject(post_id=share["remote_id"], kind="reply", handle="@dana", text="pricing?")
    clock.advance(minutes=1)
    poll_account(app, "alice-sandbox", "w")
    with app.db.read() as conn:
        task_id = conn.execute(select(t.tasks.c.id)).scalar_one()
    assert cli("task", "reply", str(task_id), "Happy to help", actor="alice").exit_code == 0  # hers: fine
    assert cli("task", "assign", str(task_id), "bob", actor="alice").exit_code == 0
    before = _snapshot(app)
    r = cli("task", "reply", str(task_id), "Me too", "--again", actor="bob")
    assert r.exit_code == 2 and r.output.count("\n") == 1
    assert "wrote to alice's own account (alice-sandbox): only alice replies from it" in r.output
    assert _snapshot(app) == before
    with app.channel("alice-sandbox").state(write=False) as s:
        assert [p["text"] for p in s["posts"] if p.get("reply_to")] == ["Happy to help"]


def test_a_person_who_also_wrote_to_the_brand_is_answered_there_by_another_rep(cli, reps, app, clock):
    """Found by the demo: dana replied to the brand's post, then to alice's share; bob, whose
    follow-up it is now, answers on the brand's account (the newest engagement he may speak on)."""
    post_id = _published_shareable(app, clock)
    assert cli("share", str(post_id), "--text", "My take", actor="alice").exit_code == 0
    publish_due(app, "w", clock.now)
    deliveries = get_post(app, post_id)["deliveries"]
    brand = next(d for d in deliveries if d["account"] == "sandbox")
    share = next(d for d in deliveries if d["account"] == "alice-sandbox")
    app.channel("sandbox").inject(post_id=brand["remote_id"], kind="reply", handle="@dana", text="pricing?")
    clock.advance(minutes=1)
    poll_account(app, "sandbox", "w")
    app.channel("alice-sandbox").inject(post_id=share["remote_id"], kind="reply", handle="@dana", text="for 20 seats?")
    clock.advance(minutes=1)
    poll_account(app, "alice-sandbox", "w")
    with app.db.read() as conn:
        task_id, owner = conn.execute(select(t.tasks.c.id, t.tasks.c.owner)).one()
    if owner != "bob":
        assert cli("task", "assign", str(task_id), "bob", actor=owner).exit_code == 0
    r = cli("task", "reply", str(task_id), "Happy to help", actor="bob")
    assert r.exit_code == 0, r.output
    with app.channel("sandbox").state(write=False) as s:
        assert [p["text"] for p in s["posts"] if p.get("reply_to")] == ["Happy to help"]
    with app.channel("alice-sandbox").state(write=False) as s:
        assert not [p for p in s["posts"] if p.get("reply_to")]


def test_a_recurring_shareable_post_repeats_on_the_brand_accounts_only(cli, reps, app, clock):
    from socialsell.marketing.posts import parse_recurrence
    from socialsell.marketing.recurring import schedule_next_occurrences

    app.channel("sandbox").audience = False
    first = create_post(app, accounts=["sandbox"], text="Weekly customer story", at=clock.now + timedelta(minutes=1),
                        recurrence=parse_recurrence(app, "7d", None, 3), shareable=True, suggested_comment="Read this")
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    assert cli("share", str(first), actor="alice").exit_code == 0
    publish_due(app, "w", clock.now)  # alice's share of the first goes out, after the series moved on
    [second] = schedule_next_occurrences(app, clock.now)
    occurrence = get_post(app, second)
    assert [d["account"] for d in occurrence["deliveries"]] == ["sandbox"]  # not alice-sandbox
    assert occurrence["shareable"] and occurrence["suggested_comment"] == "Read this"
