"""A small, fully known workspace history for the report tests, built through the real code
paths (campaign, posts, publishing, the sandbox's engagements, polling, metrics, tasks).

Monday 2026-11-23 (the test clock, 08:00 UTC = 09:00 Berlin, business hours 09:00-17:30):
- 08:01 post #1 "Winter Launch" campaign (budget 1,000, template product-launch) and post #2
  (free text, no campaign) are published on the sandbox;
- 08:02 @dana replies to #1 asking about pricing (intent: qualified, due 09:02), @sam likes #1
  (no follow-up), @raj comments on #1 (due 12:02), @gabe comments on #2 (due 12:02);
- 08:32 alice replies to dana, tags "pricing objection", closes her task won 9,000 (which opens
  and wins a deal, its posts fixed then);
  bob dismisses gabe's follow-up (rejected by sales);
- raj's follow-up (bob's) is never touched; 14:00 the metrics are refreshed: each post has
  reach 1,074 and impressions 1,718 (the sandbox's formula at 358 minutes), 0 clicks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from socialsell.db import schema as t
from socialsell.loop.metrics import refresh_metrics
from socialsell.loop.polling import poll_account
from socialsell.loop.publishing import publish_due
from socialsell.marketing.campaigns import create_campaign
from socialsell.marketing.posts import create_post, get_post
from socialsell.sales.tasks import add_note, assign_task, close_task, reply_to_task


def build(app: Any, clock: Any) -> dict[str, Any]:
    """Run the scenario; returns the ids the tests refer to."""
    sandbox = app.channel("sandbox")
    sandbox.audience = False  # only what the scenario injects reacts
    create_campaign(app, "Winter Launch", budget=1000)
    a = create_post(app, accounts=["sandbox"], template="product-launch", variables={"product": "Acme Pipeline"},
                    campaign="Winter Launch", at=clock.now + timedelta(minutes=1))
    b = create_post(app, accounts=["sandbox"], text="Tip: answer every comment within the hour.",
                    at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    ra, rb = (get_post(app, p)["deliveries"][0]["remote_id"] for p in (a, b))
    sandbox.inject(post_id=ra, kind="reply", handle="@dana", name="Dana Whitfield",
                   text="What does pricing look like for 20 seats?", at=clock.now)
    sandbox.inject(post_id=ra, kind="like", handle="@sam", name="Sam Rivera", text=None, at=clock.now)
    sandbox.inject(post_id=ra, kind="comment", handle="@raj", name="Raj Patel", text="Nice launch", at=clock.now)
    sandbox.inject(post_id=rb, kind="comment", handle="@gabe", name="Gabe Okafor", text="Great tip", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    with app.db.read() as conn:
        tasks = {h: i for i, h in conn.execute(
            select(t.tasks.c.id, t.handles.c.handle).join(t.handles, t.handles.c.contact_id == t.tasks.c.contact_id))}
    assign_task(app, tasks["@dana"], "alice")
    assign_task(app, tasks["@raj"], "bob")
    assign_task(app, tasks["@gabe"], "bob")
    clock.advance(minutes=30)
    app.actor = "alice"
    reply_to_task(app, tasks["@dana"], "Happy to walk you through it: 15 minutes this week?")
    add_note(app, tasks["@dana"], "pricing objection", kind="insight")
    close_task(app, tasks["@dana"], "won", 9000)
    app.actor = "bob"
    close_task(app, tasks["@gabe"], "dismissed")
    clock.now = clock.now.replace(hour=14, minute=0)
    refresh_metrics(app, "w", clock.now)
    return {"posts": (a, b), "tasks": tasks}


def add_crm_deal(app: Any, clock: Any, ids: dict[str, Any]) -> int:
    """A deal won in a CRM (source hubspot) with raj, started by post #1 and moved by post #2.

    Written straight into the deals tables, as a CRM sync would write them (the CRM plugin is
    another branch's work)."""
    a, b = ids["posts"]
    with app.db.write() as conn:
        raj = conn.execute(select(t.handles.c.contact_id).where(t.handles.c.handle == "@raj")).scalar()
        deal = conn.execute(t.deals.insert().values(
            contact_id=raj, owner="bob", title="Raj Patel", amount=3000, stage="won", opened_at=clock.now,
            closed_at=clock.now, source="hubspot", external_id="hs-1", updated_at=clock.now)).inserted_primary_key[0]
        conn.execute(t.deal_posts.insert(), [
            {"deal_id": deal, "post_id": a, "position": 1, "first_touch_at": clock.now, "last_touch_at": clock.now, "touches": 1},
            {"deal_id": deal, "post_id": b, "position": 2, "first_touch_at": clock.now, "last_touch_at": clock.now, "touches": 1},
        ])
    return deal
