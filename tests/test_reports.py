"""`socialsell report`: every section's figures on a known history, the formats, the filters and
bad input (docs/reports.md)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from socialsell.reports import build_report, build_scope
from socialsell.reports.render_data import neutralise, report_rows

from .report_scenario import add_crm_deal, build

WEEK = ("--since", "2026-11-23", "--until", "2026-11-29")


def figures(app, section: str | None = None, **filters) -> dict[str, dict]:
    scope = build_scope(app, since="2026-11-23", until="2026-11-29", section=section, **filters)
    return {r["id"]: r for r in report_rows(build_report(app, scope), scope)}


@pytest.fixture
def app(make_app, request):
    """The App on SQLite, or on PostgreSQL too for a test that takes ``db_url``."""
    return make_app(request.getfixturevalue("db_url") if "db_url" in request.fixturenames else None)


@pytest.fixture
def history(app, clock):
    return build(app, clock)


def test_sla_both_sides_attainment_and_named_breaches(app, history, db_url):
    rows = figures(app, "sla")
    c = {k.split(".", 2)[2]: (r["target"], r["actual"], r["met"]) for k, r in rows.items() if r["table"] == "commitments"}
    assert c == {
        "cadence.sandbox": (5.0, 2.0, "NO"),            # 2 posts published, 5 a week agreed
        "qualified_leads": (4.6, 1, "NO"),              # 20 a month, prorated to 7 days
        "rejected_share": (0.25, 0.333, "NO"),          # gabe's follow-up dismissed: 1 of 3
        "first_touch": (1.0, 0.667, "NO"),              # dana and gabe on time, raj never touched
        "touch_qualified": (1.0, 1.0, "yes"),           # dana (intent) was touched
        "follow_up_attempts": (2, None, "n/a"),         # nobody gave up yet
        "insights": (0.9, 1, "yes"),                    # alice's "pricing objection"
    }
    breaches = {(r["side"], r["who"], r["what"], r["detail"]) for r in rows.values() if r["table"] == "breaches"}
    raj = history["tasks"]["@raj"]
    assert breaches == {
        ("sales", "bob", f"task #{raj}", "not touched, past due by 2.0 h (Raj Patel)"),
        ("marketing", "sandbox", "week 2026-W48", "2 posts published, 5 agreed"),
        ("marketing", "marketing", "qualified leads", "1 in the period, 4.6 agreed"),
        ("marketing", "marketing", "rejected leads", "1 of 3 leads dismissed by sales (33%), at most 25% agreed"),
    }
    assert rows["sla.trend.first_touch"]["2026-W48"] == 0.667


def test_sla_follow_up_attempts_name_the_rep_and_task(app, clock, history):
    from socialsell.sales.tasks import close_task, reply_to_task

    raj = history["tasks"]["@raj"]
    app.actor = "bob"
    reply_to_task(app, raj, "Thanks! What are you working on?")
    close_task(app, raj, "not_interested")
    rows = figures(app, "sla")
    assert rows["sla.commitment.follow_up_attempts"]["actual"] == 0.0
    assert rows[f"sla.breach.attempts.{raj}"]["who"] == "bob"
    assert rows[f"sla.breach.attempts.{raj}"]["detail"] == "closed not_interested after 1 reply, 2 agreed"
    # a reply, even late, is a first touch: raj is no longer "not touched"
    assert rows[f"sla.breach.first_touch.{raj}"]["detail"].startswith("first touch late by 2.0 h")


def test_a_next_step_does_not_hide_a_late_first_touch(app, clock, history):
    """`task next` moves the due time to the next step; the first touch is still judged against
    its own deadline (raj's follow-up was due 12:02, the call came at 14:00)."""
    from datetime import timedelta

    from socialsell.sales.tasks import log_touch

    raj = history["tasks"]["@raj"]
    app.actor = "bob"
    log_touch(app, raj, "call", "left a voicemail", next_step="call again", due=clock.now + timedelta(days=1))
    rows = figures(app)
    assert rows[f"sla.breach.first_touch.{raj}"]["detail"] == "first touch late by 2.0 h (Raj Patel)"
    assert rows["sla.commitment.first_touch"]["detail"] == "2 of 3 on time"
    assert rows["sales.rep.bob"]["attainment"] == 0.5


def test_marketing_reach_frequency_engagement_and_leads(app, history, db_url):
    rows = figures(app, "marketing")
    assert {k: rows["marketing.total.all"][k] for k in ("posts", "reach", "impressions", "frequency", "engagements",
                                                      "engagement_rate", "clicks", "leads", "qualified")} == {
        "posts": 2, "reach": 2148, "impressions": 3436, "frequency": "n/a", "engagements": 4,
        "engagement_rate": round(4 / 3436, 6), "clicks": 0, "leads": 3, "qualified": 1}
    winter = rows["marketing.campaign.Winter Launch"]
    assert (winter["posts"], winter["reach"], winter["engagements"], winter["leads"], winter["qualified"]) == (1, 1074, 3, 2, 1)
    # one delivery: its own unique reach, so its frequency is known (1,718 / 1,074)
    assert winter["frequency"] == 1.6
    a, b = history["posts"]
    posts = [(r["post"], r["channel"], r["frequency"], r["engagements"]) for r in rows.values() if r["table"] == "post"]
    assert posts == [(a, "sandbox", 1.6, 3), (b, "sandbox", 1.6, 1)]
    assert rows["marketing.template.product-launch"]["engagements"] == 3
    assert rows["marketing.template.(free text)"]["engagements"] == 1
    assert rows["marketing.week.2026-W48"]["posts"] == 2
    assert rows["marketing.slot.Mon-09"] | {} == {**rows["marketing.slot.Mon-09"], "posts": 2, "engagements": 4, "leads": 3}


def test_frequency_is_na_without_unique_reach():
    from socialsell.reports.marketing import totals

    x_like = {"post": 1, "reach": None, "impressions": 500, "clicks": None, "engagements": 5, "leads": 0, "qualified": 0}
    figures_ = totals([x_like])
    assert (figures_["reach"], figures_["frequency"], figures_["clicks"], figures_["engagement_rate"]) == ("n/a", "n/a", "n/a", 0.01)
    linkedin_like = {**x_like, "reach": 250}
    assert totals([linkedin_like])["frequency"] == 2.0
    # two posts' unique reach cannot be added up into the people reached by both: n/a, not 500 / 500
    assert totals([linkedin_like, {**linkedin_like, "post": 2}])["frequency"] == "n/a"


def test_sales_response_funnel_and_revenue(app, history, db_url):
    rows = figures(app, "sales")
    team = rows["sales.rep.team"]
    assert {k: team[k] for k in ("tasks", "on_time", "attainment", "response_median_h", "response_p90_h", "deals", "won",
                                 "win_rate", "revenue")} == {
        "tasks": 3, "on_time": 2, "attainment": 0.667, "response_median_h": 0.5, "response_p90_h": 0.5, "deals": 1,
        "won": 1, "win_rate": 1.0, "revenue": 9000.0}
    assert (rows["sales.rep.alice"]["attainment"], rows["sales.rep.bob"]["attainment"]) == (1.0, 0.5)
    assert [(rows[f"sales.funnel.{s}"]["people"], rows[f"sales.funnel.{s}"]["conversion"])
            for s in ("engaged", "lead", "qualified", "opportunity", "customer")] == [
        (4, None), (1, 0.25), (1, 1.0), (1, 1.0), (1, 1.0)]


def test_response_time_counts_business_hours_only():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from socialsell.reports.timing import business_seconds, percentile
    from socialsell.timeparse import parse_business_hours

    hours = parse_business_hours("mon-fri 09:00-17:00")
    berlin = ZoneInfo("Europe/Berlin")
    # Friday 16:00 Berlin to Monday 10:00 Berlin: one hour on Friday, one on Monday
    start, end = datetime(2026, 11, 27, 15, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert business_seconds(start, end, hours, berlin) == 2 * 3600
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9


@pytest.mark.parametrize(("model", "post1", "post2"), [("first", 12000.0, None), ("last", 9000.0, 3000.0),
                                                       ("linear", 10500.0, 1500.0)])
def test_attribution_models_deals_and_sources(app, clock, history, model, post1, post2):
    deal = add_crm_deal(app, clock, history)
    rows = figures(app, "attribution", model=model)
    a, b = history["posts"]
    assert rows[f"attribution.post.{a}"]["revenue"] == post1
    assert rows.get(f"attribution.post.{b}", {}).get("revenue") == post2
    sources = {r["deal"]: (r["source"], r["amount"], r["posts"]) for r in rows.values() if r["table"] == "deal"}
    # dana's win opened and won a deal through `task done` (its posts fixed then); raj's is the CRM's
    assert sources == {f"deal:{dana_deal(app)}": ("socialsell", 9000.0, f"#{a}"),
                       f"deal:{deal}": ("hubspot", 3000.0, f"#{a} #{b}")}
    winter = rows["attribution.campaign.Winter Launch"]
    assert (winter["revenue"], winter["budget"], winter["cost_per_lead"], winter["cost_per_qualified"]) == (post1, 1000.0, 500.0, 1000.0)
    assert winter["return_on_spend"] == round((post1 - 1000) / 1000, 3)


def dana_deal(app) -> int:
    from sqlalchemy import select

    from socialsell.db import schema as t

    with app.db.read() as conn:
        return conn.execute(select(t.deals.c.id).where(t.deals.c.source == "socialsell")).scalar_one()


def _won_crm_deal(app, clock, ids, closed_at, name: str) -> None:
    from sqlalchemy import update

    from socialsell.db import schema as t

    deal = add_crm_deal(app, clock, ids)
    with app.db.write() as conn:
        conn.execute(update(t.deals).where(t.deals.c.id == deal).values(closed_at=closed_at, title=name,
                                                                         external_id=f"hs-{name}"))


def test_the_period_is_half_open_on_local_days_in_every_section(app, clock, history):
    """[since, the day after --until) in the workspace time zone, for every section; without
    --until, through today: a deal won at this very moment is in the report run now."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    end_of_day = datetime(2026, 11, 29, 23, 59, 59, tzinfo=berlin)
    next_day = datetime(2026, 11, 30, 0, 0, tzinfo=berlin)
    _won_crm_deal(app, clock, history, end_of_day, "last-second")
    _won_crm_deal(app, clock, history, next_day, "next-day")
    rows = figures(app)  # --until 2026-11-29
    team, deals = rows["sales.rep.team"], [r for r in rows.values() if r["table"] == "deal"]
    assert (team["won"], team["revenue"]) == (2, 12000.0)  # dana's 9,000 and the last second's 3,000
    assert sorted(r["amount"] for r in deals) == [3000.0, 9000.0]
    assert rows["advocacy.source.brand"]["revenue"] == 9000.0  # the CRM deals opened no follow-up

    _won_crm_deal(app, clock, history, clock.now, "just-now")  # the clock's now: Monday 14:00
    scope = build_scope(app, since="2026-11-23")
    assert scope.until == datetime(2026, 11, 24, 0, 0, tzinfo=berlin)  # as --until today
    rows = {r["id"]: r for r in report_rows(build_report(app, scope), scope)}
    assert rows["sales.rep.team"]["won"] == 2 and rows["sales.rep.team"]["revenue"] == 12000.0
    assert sum(r["amount"] for r in rows.values() if r["table"] == "deal") == 12000.0
    assert rows["sla.commitment.first_touch"]["actual"] == 0.667  # judged at now, not at the period's end


def test_a_follow_up_won_before_deals_existed_still_counts_once(app, clock, history):
    """History from before the deals table: a follow-up closed as won with no deal is a deal of
    its own (task:N), credited to its buyer's engagements up to the win."""
    from sqlalchemy import delete

    from socialsell.db import schema as t

    with app.db.write() as conn:
        conn.execute(delete(t.deal_posts))
        conn.execute(delete(t.deals))
    rows = figures(app)
    dana = history["tasks"]["@dana"]
    assert rows[f"attribution.deal.task:{dana}"]["posts"] == f"#{history['posts'][0]}"
    assert rows["sales.rep.team"]["revenue"] == 9000.0 and rows["sales.rep.team"]["won"] == 1


def test_attribution_on_postgres_too(make_app, clock, pg_url):
    app = make_app(pg_url)
    ids = build(app, clock)
    add_crm_deal(app, clock, ids)
    rows = figures(app, None, model="linear")
    assert rows[f"attribution.post.{ids['posts'][0]}"]["revenue"] == 10500.0
    assert rows["sales.rep.team"]["revenue"] == 12000.0  # the CRM deal counts in sales once, the follow-up once
    assert rows["sla.commitment.first_touch"]["actual"] == 0.667


def test_feedback_lists_insights_with_the_customers_words(app, history):
    rows = figures(app, "feedback")
    (insight,) = [r for r in rows.values() if r["table"] == "insight"]
    assert (insight["insight"], insight["rep"], insight["campaign"], insight["topic"], insight["customer_said"]) == (
        "pricing objection", "alice", "Winter Launch", "product-launch", "What does pricing look like for 20 seats?")
    assert rows["feedback.tag.pricing objection"]["insights"] == 1


def test_filters_narrow_every_section(app, history):
    bob = figures(app, owner="bob")
    assert bob["sales.rep.team"]["tasks"] == 2 and bob["sales.rep.team"]["revenue"] == 0.0
    winter = figures(app, campaign="Winter Launch")
    assert winter["marketing.total.all"]["posts"] == 1
    assert winter["sla.commitment.rejected_share"]["detail"] == "0 of 2 leads"


# --- the command line --------------------------------------------------------------------------


def test_report_json_is_a_list_of_objects_with_ids(cli, app, history):
    result = cli("report", *WEEK, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert all("id" in r for r in rows) and len({r["id"] for r in rows}) == len(rows)
    assert {r["section"] for r in rows} == {"report", "sla", "marketing", "sales", "attribution", "feedback", "advocacy"}


def test_report_table_fits_80_columns(cli, app, history):
    out = cli("report", *WEEK).output
    assert "THE SLA" in out and "Revenue by campaign" in out and "pricing objection" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_report_csv_neutralises_formulas(cli, app, clock, history):
    from socialsell.sales.tasks import add_note

    add_note(app, history["tasks"]["@dana"], "=HYPERLINK(\"http://evil\")", kind="insight", force=True)
    out = cli("report", *WEEK, "--section", "feedback", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert any(r["insight"] == "'=HYPERLINK(\"http://evil\")" for r in rows)
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values() if v)
    assert [neutralise(v) for v in ("+1", "-2", "@x", "\tx", "\rx", "ok", -3)] == ["'+1", "'-2", "'@x", "'\tx", "'\rx", "ok", -3]


def test_report_html_is_self_contained(cli, app, history, tmp_path):
    out = tmp_path / "r.html"
    result = cli("report", *WEEK, "--format", "html", "--output", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.count('<figure class="chart"') >= 4
    for chart in ("marketing.week", "sales.rep", "sales.funnel", "attribution.campaign"):
        assert f'data-chart="{chart}"' in page
    assert "9,000" in page and "http://" not in page.replace("http://evil", "") and "https://" not in page


def test_report_json_does_not_import_the_plotting_library(workspace):
    """Nor rich, a network library, the channel modules (the report builds no channel: the
    accounts' keys are checked when one is) or the sales modules (docs/reports.md, "Speed")."""
    import subprocess
    import sys

    code = ("import sys; from socialsell.cli import main\n"
            "try:\n    main(['--config', sys.argv[1], 'report', '--format', 'json'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'rich', 'tweepy', 'apscheduler')\n"
            "             or m == 'socialsell.plugins.channel' or m.endswith('.channel') and m.startswith('socialsell_')\n"
            "             or m.startswith('socialsell.sales')))")
    out = subprocess.run([sys.executable, "-c", code, str(workspace)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--since", "2026-11-29", "--until", "2026-11-23"), "--since 2026-11-29 is not before --until 2026-11-23"),
    (("--since", "someday"), "--since: cannot read the time 'someday'"),
    (("--until", "2026-13-45"), "--until: cannot read the date '2026-13-45' (month must be in 1..12)"),
    (("--section", "gossip"), "unknown --section 'gossip'"),
    (("--campaign", "Nope"), "unknown --campaign 'Nope'"),
    (("--channel", "myspace"), "unknown channel account 'myspace'"),
    (("--owner", "zed"), "unknown --owner 'zed'"),
    (("--format", "pdf"), "--format 'pdf': one of table, json, csv, html"),
    (("--model", "u-shaped"), "--model 'u-shaped': one of first, last, linear"),
    (("--output", "/nonexistent/dir/r.html"), "--output /nonexistent/dir/r.html: the folder /nonexistent/dir does not exist"),
])
def test_report_bad_input_is_one_line_exit_2(cli, args, message):
    result = cli("report", *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output


def test_a_bad_sla_commitment_is_one_line(cli, workspace):
    text = workspace.read_text().replace("max_rejected_share = 0.25", "max_rejected_share = 2")
    workspace.write_text(text)
    result = cli("report")
    assert result.exit_code == 2
    assert "[sla.marketing] max_rejected_share: expected a share from 0 to 1, got 2" in result.output
    assert result.output.count("\n") == 1


def test_campaign_show_gives_reach_and_revenue(cli, app, history):
    out = cli("campaign", "show", "Winter Launch").output
    assert "reach 1,074, impressions 1,718 (metrics of Mon 23 Nov 15:00)" in out
    assert "2 leads, 1 qualified; revenue 9,000 from 1 won deal (linear touch; source socialsell)" in out
    assert "cost per lead 500, cost per qualified lead 1,000, return on spend 800%" in out
    data = json.loads(cli("campaign", "show", "Winter Launch", "--json").output)[0]
    assert (data["figures"]["reach"], data["figures"]["revenue"]) == (1074, 9000.0)


# --- the first-touch deadline (tasks.sla_due_at, migration 0005) --------------------------------


def _task(app, task_id):
    from sqlalchemy import select

    from socialsell.db import schema as t

    with app.db.read() as conn:
        return conn.execute(select(t.tasks).where(t.tasks.c.id == task_id)).mappings().one()


def test_the_first_touch_deadline_is_set_at_opening_and_kept_by_a_next_step(app, clock, history, db_url):
    from datetime import UTC, datetime, timedelta

    from socialsell.sales.tasks import log_touch, set_next_step

    raj = history["tasks"]["@raj"]
    due = datetime(2026, 11, 23, 12, 2, tzinfo=UTC)  # 08:02 + 4 business hours (09:00 Berlin opens at 08:00 UTC)
    assert (_task(app, raj)["due_at"], _task(app, raj)["sla_due_at"]) == (due, due)
    app.actor = "bob"
    set_next_step(app, raj, "call", clock.now + timedelta(days=2))
    log_touch(app, raj, "call", "left a voicemail", next_step="call again", due=clock.now + timedelta(days=3))
    task = _task(app, raj)
    assert (task["due_at"], task["sla_due_at"]) == (clock.now + timedelta(days=3), due)
    assert figures(app, "sla")[f"sla.breach.first_touch.{raj}"]["detail"] == "first touch late by 2.0 h (Raj Patel)"


def test_intent_before_the_first_touch_brings_the_deadline_forward(app, clock, history, db_url):
    """A comment opens a follow-up due in 4 business hours; the same person asking about pricing
    10 minutes later makes it due within high_intent_hours (1) of that, in sla_due_at too."""
    from datetime import timedelta

    from socialsell.loop.polling import poll_account
    from socialsell.marketing.posts import get_post

    sandbox = app.channel("sandbox")
    remote = get_post(app, history["posts"][1])["deliveries"][0]["remote_id"]
    clock.now = clock.now.replace(hour=9, minute=0)  # Monday 10:00 Berlin
    sandbox.inject(post_id=remote, kind="comment", handle="@lee", name="Lee Chen", text="Interesting", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    lee = max(_task(app, i)["id"] for i in range(1, 5) if _exists(app, i))
    assert _task(app, lee)["sla_due_at"] == clock.now + timedelta(hours=4)
    clock.advance(minutes=10)
    sandbox.inject(post_id=remote, kind="reply", handle="@lee", name="Lee Chen", text="What is the pricing?", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    task = _task(app, lee)
    assert task["intent"] and task["sla_due_at"] == task["due_at"] == clock.now + timedelta(hours=1)


def _exists(app, task_id):
    from sqlalchemy import select

    from socialsell.db import schema as t

    with app.db.read() as conn:
        return conn.execute(select(t.tasks.c.id).where(t.tasks.c.id == task_id)).first() is not None


def test_a_task_moved_before_0005_is_judged_against_its_recomputed_deadline(app, clock, history):
    """A follow-up given a next step before migration 0005 has no sla_due_at: the report
    recomputes its deadline from its creation, and the figures are the same."""
    from datetime import timedelta

    from sqlalchemy import update

    from socialsell.db import schema as t
    from socialsell.sales.tasks import log_touch

    raj = history["tasks"]["@raj"]
    app.actor = "bob"
    log_touch(app, raj, "call", "left a voicemail", next_step="call again", due=clock.now + timedelta(days=1))
    stored = figures(app)
    with app.db.write() as conn:
        conn.execute(update(t.tasks).where(t.tasks.c.id == raj).values(sla_due_at=None))
    legacy = figures(app)
    for key in ("sla.commitment.first_touch", "sales.rep.bob", "sales.rep.team", f"sla.breach.first_touch.{raj}"):
        assert legacy[key] == stored[key]
    assert legacy[f"sla.breach.first_touch.{raj}"]["detail"] == "first touch late by 2.0 h (Raj Patel)"
    assert legacy["sla.commitment.first_touch"]["detail"] == "2 of 3 on time"


def test_0005_backfills_the_deadline_and_downgrades(db_url, workspace):
    """0003 -> 0005: a task never given a next step gets its due time as its deadline; one moved
    to a next step keeps none (the report recomputes it); deals.task_id is indexed; going back
    removes both."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import inspect, select, text

    from socialsell.db import schema as t
    from socialsell.db.engine import Database
    from socialsell.db.migrate import alembic_config, upgrade

    url = db_url or f"sqlite:///{workspace.parent / 'old5.db'}"
    db = Database(url, migrate=False)
    upgrade(db, "0003")
    now, due, step = (datetime(2026, 11, 23, h, 0) for h in (8, 12, 15))
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO contacts (id, stage, score, first_seen_at, last_seen_at, updated_at) "
                          "VALUES (1, 'engaged', 0, :t, :t, :t), (2, 'engaged', 0, :t, :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO tasks (id, contact_id, status, priority, score, intent, due_at, next_step_due, "
                          "created_at, updated_at) VALUES (1, 1, 'open', 3, 0, false, :due, NULL, :t, :t), "
                          "(2, 2, 'open', 3, 0, false, :step, :step, :t, :t)"), {"t": now, "due": due, "step": step})
    upgrade(db, "head")
    with db.read() as conn:
        rows = conn.execute(select(t.tasks.c.id, t.tasks.c.sla_due_at).order_by(t.tasks.c.id)).all()
    assert rows == [(1, due.replace(tzinfo=UTC)), (2, None)]
    assert "ix_deals_task" in {i["name"] for i in inspect(db.engine).get_indexes("deals")}
    command.downgrade(alembic_config(db), "0003")
    assert "sla_due_at" not in {c["name"] for c in inspect(db.engine).get_columns("tasks")}
    assert "ix_deals_task" not in {i["name"] for i in inspect(db.engine).get_indexes("deals")}
    db.dispose()


# --- a post on several channels -------------------------------------------------------------------


@pytest.fixture
def two_channels(workspace):
    """A second sandbox account, "studio", beside "sandbox"."""
    text = workspace.read_text()
    workspace.write_text(text.replace('name = "sandbox"\nchannel = "sandbox"\n',
                                      'name = "sandbox"\nchannel = "sandbox"\n\n[[accounts]]\nname = "studio"\n'
                                      'channel = "sandbox"\n', 1))
    return workspace


def build_multichannel(app, clock):
    """One post on sandbox and studio. @dana asks about pricing on studio and wins 9,000; @lee
    likes it on sandbox, later comments on studio and wins 1,000. Returns (post, tasks)."""
    from datetime import timedelta

    from sqlalchemy import select

    from socialsell.db import schema as t
    from socialsell.loop.polling import poll_account
    from socialsell.loop.publishing import publish_due
    from socialsell.marketing.posts import create_post, get_post
    from socialsell.sales.tasks import close_task, reply_to_task

    for name in ("sandbox", "studio"):
        app.channel(name).audience = False
    post = create_post(app, accounts=["sandbox", "studio"], text="One post, two channels", at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=2)
    publish_due(app, "w", clock.now)
    remote = {d["account"]: d["remote_id"] for d in get_post(app, post)["deliveries"]}
    app.channel("sandbox").inject(post_id=remote["sandbox"], kind="like", handle="@lee", name="Lee Chen", text=None, at=clock.now)
    app.channel("studio").inject(post_id=remote["studio"], kind="reply", handle="@dana", name="Dana Whitfield",
                                 text="What does pricing look like for 20 seats?", at=clock.now)
    for name in ("sandbox", "studio"):
        poll_account(app, name, "w", clock.now)
    clock.advance(minutes=5)
    app.channel("studio").inject(post_id=remote["studio"], kind="comment", handle="@lee", name="Lee Chen",
                                 text="Do you have a trial?", at=clock.now)
    poll_account(app, "studio", "w", clock.now)
    with app.db.read() as conn:
        tasks = {h: i for i, h in conn.execute(select(t.tasks.c.id, t.handles.c.handle).join(
            t.handles, t.handles.c.contact_id == t.tasks.c.contact_id).where(t.tasks.c.status == "open"))}
    clock.advance(minutes=5)
    for handle, amount in (("@dana", 9000), ("@lee", 1000)):
        reply_to_task(app, tasks[handle], "Happy to help: 15 minutes this week?", force=True)
        close_task(app, tasks[handle], "won", amount, force=True)
    return post, tasks


@pytest.mark.parametrize(("model", "sandbox", "studio"), [("linear", 500.0, 9500.0), ("first", 1000.0, 9000.0),
                                                          ("last", None, 10000.0)])
def test_a_post_on_two_channels_is_credited_per_channel_once(two_channels, make_app, clock, model, sandbox, studio):
    app = make_app()
    post, _ = build_multichannel(app, clock)
    rows = figures(app, model=model)
    assert rows[f"attribution.post.{post}"]["revenue"] == 10000.0  # the post once, whatever the channels
    channels = {r["channel"]: r["revenue"] for r in rows.values() if r["table"] == "channel" and r["section"] == "attribution"}
    assert (channels.get("sandbox"), channels.get("studio")) == (sandbox, studio)
    assert sum(channels.values()) == 10000.0  # no revenue counted twice
    studio_only = figures(app, model=model, channel="studio")
    assert studio_only.get("attribution.channel.studio", {}).get("revenue") == studio
    assert rows["marketing.total.all"]["posts"] == 1 and rows["marketing.channel.studio"]["posts"] == 1
    assert rows["marketing.channel.sandbox"]["posts"] == 1


def test_a_crm_deal_with_no_engagement_splits_a_post_across_its_channels():
    from socialsell.reports.attribution import channels_credited, credit

    touch = {"post": 1, "seen": [], "posted_on": ["sandbox", "studio"]}
    assert channels_credited(touch, 3000.0, "first") == [("sandbox", 1500.0), ("studio", 1500.0)]
    deal = {"deal": "deal:1", "amount": 3000.0, "touches": [touch, {"post": 2, "seen": [], "posted_on": ["sandbox"]}]}
    assert sorted((t["post"], c, a) for _, t, c, a in credit([deal], "linear")) == [
        (1, "sandbox", 750.0), (1, "studio", 750.0), (2, "sandbox", 1500.0)]


# --- not interested, lost, and the spend behind return on spend -----------------------------------


def test_not_interested_is_not_a_lost_deal(app, clock, history, db_url):
    from socialsell.sales.tasks import close_task

    app.actor = "bob"
    close_task(app, history["tasks"]["@raj"], "not_interested")
    team = figures(app, "sales")["sales.rep.team"]
    assert (team["won"], team["lost"], team["not_interested"], team["win_rate"], team["deals"]) == (1, 0, 1, 1.0, 1)
    assert figures(app, "sales")["sales.rep.bob"]["not_interested"] == 1


def test_a_deal_lost_counts_as_lost(app, clock, history):
    from sqlalchemy import select

    from socialsell.db import schema as t
    from socialsell.sales.deals import lose_deal, open_deal

    with app.db.read() as conn:
        raj = conn.execute(select(t.handles.c.contact_id).where(t.handles.c.handle == "@raj")).scalar()
    app.actor = "bob"
    deal = open_deal(app, raj, amount=4000)
    lose_deal(app, deal["id"], "went with a competitor", force=True)
    team = figures(app, "sales")["sales.rep.team"]
    assert (team["won"], team["lost"], team["not_interested"], team["win_rate"], team["deals"]) == (1, 1, 0, 0.5, 2)


def test_spend_is_the_budget_share_of_the_period(app, clock, history):
    """Winter Launch runs two weeks (Mon 23 Nov to Sun 6 Dec, Berlin) on a 1,000 budget: the
    week's report spends 500 of it; the campaign's own page uses the whole budget."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from socialsell.db import schema as t

    with app.db.write() as conn:
        conn.execute(update(t.campaigns).values(starts_on=datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
                                                ends_on=datetime(2026, 12, 6, 23, 0, tzinfo=UTC)))
    winter = figures(app, "attribution")["attribution.campaign.Winter Launch"]
    assert (winter["revenue"], winter["budget"], winter["spend"], winter["cost_per_lead"], winter["cost_per_qualified"],
            winter["return_on_spend"]) == (9000.0, 1000.0, 500.0, 250.0, 500.0, 17.0)


def test_spend_of_a_running_campaign_spreads_to_now():
    from datetime import UTC, datetime

    from socialsell.reports.attribution import spend_in_period

    start, now = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    week = (datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC))
    assert spend_in_period(2000.0, start, None, *week, now) == 700.0  # 7 of the 20 days so far
    assert spend_in_period(2000.0, now, None, *week, now) == 0.0      # starts after the period
    assert spend_in_period(None, start, None, *week, now) is None


def test_days_to_won_are_counted_from_the_first_touch(app, clock, history, db_url):
    """Days from the buyer's first engagement with the first post to the win, computed in SQL on
    both databases: 2.5 days when the deal's first touch is moved back by that much."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from socialsell.db import schema as t

    deal = dana_deal(app)
    with app.db.write() as conn:
        DP = t.deal_posts
        first = conn.execute(select(DP.c.first_touch_at).where(DP.c.deal_id == deal)).scalar_one()
        conn.execute(update(DP).where(DP.c.deal_id == deal).values(first_touch_at=first - timedelta(days=2, hours=12)))
    rows = figures(app, "attribution")
    assert rows[f"attribution.deal.deal:{deal}"]["days_to_won"] == round(2.5 + 30 / 1440, 1)


def test_the_collector_is_paused_while_a_report_is_built_and_restored_after(app, history):
    import gc

    from socialsell.reports import collector_paused

    seen = []
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            with collector_paused():
                seen.append(gc.isenabled())
                figures(app)
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
    assert seen == [False, False]
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a section failed")
    assert gc.isenabled()
