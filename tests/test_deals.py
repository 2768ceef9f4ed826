"""Issue 12 item 3: next steps and deals, with the posts and campaign fixed when a deal opens."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from socialsell.db import schema as t
from socialsell.loop.polling import poll_account
from socialsell.loop.publishing import publish_due
from socialsell.marketing.campaigns import create_campaign
from socialsell.marketing.posts import create_post, get_post
from socialsell.sales.contacts import contact_detail
from socialsell.sales.deals import get_deal, list_deals, lose_deal, open_deal, win_deal
from socialsell.sales.tasks import close_task, get_task, list_tasks

from .test_sales_cli import seeded  # noqa: F401  (the fixture)


def _publish(app, clock, text, campaign=None):
    app.channel("sandbox").audience = False
    post_id = create_post(app, accounts=["sandbox"], text=text, at=clock.now + timedelta(minutes=1), campaign=campaign)
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    return post_id, get_post(app, post_id)["deliveries"][0]["remote_id"]


def _conversation(app, clock):
    """Dana likes a campaign post, then comments twice on a second one; a third post comes later."""
    create_campaign(app, "Q4 launch")
    first, first_remote = _publish(app, clock, "Launch day", campaign="Q4 launch")
    second, second_remote = _publish(app, clock, "How we cut response times")
    third, third_remote = _publish(app, clock, "Later news")
    sandbox = app.channel("sandbox")
    sandbox.inject(post_id=first_remote, kind="like", handle="@dana", name="Dana Whitfield", text=None, at=clock.now)
    clock.advance(hours=1)
    sandbox.inject(post_id=second_remote, kind="comment", handle="@dana", name="Dana Whitfield",
                   text="What does pricing look like for 40 seats?", at=clock.now)
    clock.advance(hours=1)
    sandbox.inject(post_id=second_remote, kind="comment", handle="@dana", name="Dana Whitfield",
                   text="And onboarding?", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    (task,) = list_tasks(app, all_owners=True)
    app.actor = task["owner"]
    return {"task": task, "posts": (first, second, third), "third_remote": third_remote}


def test_opportunity_opens_a_deal_that_keeps_its_posts_and_is_won_weeks_later(db_url, make_app, clock):
    app = make_app(db_url)
    conv = _conversation(app, clock)
    task, (first, second, _third) = conv["task"], conv["posts"]
    closed = close_task(app, task["id"], "opportunity", 12000.0, close=clock.now.date() + timedelta(days=30),
                        stage="proposal")
    deal = get_deal(app, closed["deal_id"])
    assert (deal["stage"], deal["amount"], deal["task_id"], deal["owner"]) == ("proposal", 12000.0, task["id"], task["owner"])
    assert deal["campaign"] == "Q4 launch" and deal["source"] == "socialsell" and deal["external_id"] is None
    assert [(p["position"], p["post_id"], p["touches"]) for p in deal["posts"]] == [(1, first, 1), (2, second, 2)]
    assert deal["posts"][1]["last_touch_at"] - deal["posts"][1]["first_touch_at"] == timedelta(hours=1)
    assert contact_detail(app, task["contact"]["id"])["stage"] == "opportunity"

    # a later engagement does not rewrite history
    app.channel("sandbox").inject(post_id=conv["third_remote"], kind="like", handle="@dana", text=None, at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    assert [p["post_id"] for p in get_deal(app, deal["id"])["posts"]] == [first, second]

    clock.advance(days=20)  # won with no new social engagement
    won = win_deal(app, deal["id"])
    assert won["amount"] == 12000.0
    deal = get_deal(app, deal["id"])
    assert deal["stage"] == "won" and deal["closed_at"] - deal["opened_at"] >= timedelta(days=20)
    assert contact_detail(app, task["contact"]["id"])["stage"] == "customer"

    # first-touch, last-touch and linear attribution in SQL, from the tables alone
    D, DP = t.deals, t.deal_posts
    with app.db.read() as conn:
        n = select(DP.c.deal_id, func.count().label("n"), func.max(DP.c.position).label("last")) \
            .group_by(DP.c.deal_id).subquery()
        rows = conn.execute(
            select(DP.c.post_id,
                   func.sum(func.coalesce(D.c.amount, 0) * (DP.c.position == 1).cast(t.Integer)).label("first"),
                   func.sum(func.coalesce(D.c.amount, 0) * (DP.c.position == n.c.last).cast(t.Integer)).label("last"),
                   func.sum(D.c.amount / n.c.n).label("linear"))
            .join(D, D.c.id == DP.c.deal_id).join(n, n.c.deal_id == DP.c.deal_id)
            .where(D.c.stage == "won").group_by(DP.c.post_id).order_by(DP.c.post_id)).all()
    assert [(p, float(f), float(la), float(li)) for p, f, la, li in rows] == [
        (first, 12000.0, 0.0, 6000.0), (second, 0.0, 12000.0, 6000.0)]



def test_deal_show_names_the_posts_and_campaign(app, clock, cli):
    conv = _conversation(app, clock)
    owner = conv["task"]["owner"]
    r = cli("task", "done", str(conv["task"]["id"]), "--outcome", "opportunity", "--amount", "5000", actor=owner)
    assert r.exit_code == 0 and "deal 1 open" in r.output, r.output
    listing = json.loads(cli("deal", "list", "--all", "--json").output)
    assert [(d["id"], d["stage"], d["task_id"]) for d in listing] == [(1, "discovery", conv["task"]["id"])]
    shown = cli("deal", "show", "1", env={"COLUMNS": "200"}).output
    assert "campaign Q4 launch" in shown and "1. post" in shown and "Launch day" in shown and "2 touch(es)" in shown
    assert json.loads(cli("deal", "show", "1", "--json").output)[0]["posts"][0]["post_id"] == conv["posts"][0]


def test_task_done_won_opens_and_wins_a_deal_or_wins_the_open_one(app, clock, seeded, cli):  # noqa: F811
    r = cli("task", "done", str(seeded["dana"]), "--outcome", "won", "--amount", "4800")
    assert r.exit_code == 0, r.output
    assert "deal 1 won" in r.output
    (deal,) = list_deals(app)
    assert (deal["stage"], deal["amount"]) == ("won", 4800.0)
    assert contact_detail(app, seeded["dana_contact"])["stage"] == "customer"

    # the repost contact already has an open deal: winning the task wins that one
    repost = get_task(app, seeded["repost"])
    opened = open_deal(app, repost["contact_id"], amount=1000.0)
    close_task(app, seeded["repost"], "won", 1500.0)
    assert [(d["id"], d["stage"], d["amount"]) for d in list_deals(app) if d["id"] == opened["id"]] == [
        (opened["id"], "won", 1500.0)]
    assert len(list_deals(app)) == 2


def test_deal_commands_and_the_stage_following_the_deals(app, clock, seeded, cli):  # noqa: F811
    contact = str(seeded["dana_contact"])
    r = cli("deal", "new", contact, "--amount", "9000", "--close", "2026-12-31", "--json")
    assert r.exit_code == 0, r.output
    (d,) = json.loads(r.output)
    assert (d["stage"], d["expected_close"], d["currency"]) == ("discovery", "2026-12-31", "EUR")
    assert contact_detail(app, seeded["dana_contact"])["stage"] == "opportunity"
    assert "deal 1 moved to negotiation" in cli("deal", "move", "1", "negotiation").output
    human = cli("deal", "list").output
    assert "negotiation" in human and "9,000 EUR" in human and "2026-12-31" in human
    assert json.loads(cli("deal", "list", "--json", actor="bob").output) == []
    assert len(json.loads(cli("deal", "list", "--all", "--json", actor="bob").output)) == 1
    r = cli("deal", "lost", "1", "--reason", "went with a spreadsheet")
    assert r.exit_code == 0 and "lost: went with a spreadsheet" in r.output
    assert contact_detail(app, seeded["dana_contact"])["stage"] == "qualified"  # no open deal any more
    assert cli("deal", "won", "1").exit_code == 2  # closed stays closed
    assert json.loads(cli("deal", "list", "--open", "--json").output) == []


def test_meeting_takes_its_time_and_opens_the_next_step(app, clock, seeded, cli):  # noqa: F811
    assert cli("task", "done", str(seeded["dana"]), "--outcome", "meeting").exit_code == 2  # needs --at
    r = cli("task", "done", str(seeded["dana"]), "--outcome", "meeting", "--at", "wed 14:00")
    assert r.exit_code == 0, r.output
    (nxt,) = [x for x in list_tasks(app) if x["contact"]["id"] == seeded["dana_contact"]]
    assert nxt["next_step"] == "meeting" and nxt["due_at"] == nxt["next_step_due"]
    assert nxt["due_at"].astimezone(app.workspace.timezone).strftime("%a %H:%M") == "Wed 14:00"
    assert nxt["first_response_at"] is not None and not nxt["overdue"]
    assert f"next step: task {nxt['id']}" in r.output
    shown = get_task(app, nxt["id"])
    assert shown["engagements"] and "pricing" in shown["engagements"][0]["text"]  # the conversation so far
    assert contact_detail(app, seeded["dana_contact"])["stage"] == "qualified"
    clock.advance(days=3)
    assert nxt["id"] in [x["id"] for x in json.loads(cli("tasks", "--overdue", "--json").output)]  # missed meeting


def test_lost_reason_and_stage_rules_in_the_domain(app, seeded):  # noqa: F811
    d = open_deal(app, seeded["dana_contact"], amount=10.0)
    with pytest.raises(Exception, match="reason"):
        lose_deal(app, d["id"], "  ")
    assert lose_deal(app, d["id"], "no budget")["stage"] == "lost"


@pytest.mark.parametrize("args", [
    ("deal", "new", "999"), ("deal", "new", "abc"), ("deal", "new", "0"),
    ("deal", "new", "{dana_contact}", "--amount", "-5"), ("deal", "new", "{dana_contact}", "--amount", "nan"),
    ("deal", "new", "{dana_contact}", "--close", "2026-13-01"), ("deal", "new", "{dana_contact}", "--stage", "won"),
    ("deal", "new", "{dana_contact}", "--stage", "bogus"), ("deal", "new", "{dana_contact}", "--currency", "EURO"),
    ("deal", "show", "999"), ("deal", "show", "x"), ("deal", "move", "1", "bogus"), ("deal", "move", "1", "won"),
    ("deal", "won", "999"), ("deal", "won", "1"), ("deal", "lost", "1", "--reason", " "), ("deal", "lost", "1"),
("deal", "list", "--stage", "bogus"),
    ("task", "done", "{dana}", "--outcome", "meeting", "--at", "yesterday 09:00"),
    ("task", "done", "{dana}", "--outcome", "meeting", "--at", "someday"),
    ("task", "done", "{dana}", "--outcome", "replied", "--at", "+1d"),
    ("task", "done", "{dana}", "--outcome", "replied", "--amount", "5"),
    ("task", "done", "{dana}", "--outcome", "opportunity", "--close", "31/12/2026"),
    ("task", "done", "{dana}", "--outcome", "opportunity", "--stage", "won"),
])
def test_bad_deal_input_is_one_line_exit_2_and_changes_nothing(app, seeded, cli, args):  # noqa: F811
    if args[1] != "new":
        open_deal(app, seeded["repost"] and get_task(app, seeded["repost"])["contact_id"])  # deal 1, no amount
    before = list_deals(app, all_owners=True)
    r = cli(*[a.format(**seeded) for a in args])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error:") and r.output.strip().count("\n") == 0
    assert list_deals(app, all_owners=True) == before
    assert get_task(app, seeded["dana"])["status"] == "open"


def test_someone_elses_deal_is_refused(app, seeded, cli):  # noqa: F811
    uk = get_task(app, seeded["uk"])
    d = open_deal(app, uk["contact_id"])
    assert d["owner"] == "bob"
    r = cli("deal", "move", str(d["id"]), "proposal", actor="alice")
    assert r.exit_code == 2 and "belongs to bob" in r.output
    assert cli("deal", "move", str(d["id"]), "proposal", "--force", actor="alice").exit_code == 0
