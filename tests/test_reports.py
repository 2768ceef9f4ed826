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
        "posts": 2, "reach": 2148, "impressions": 3436, "frequency": 1.6, "engagements": 4,
        "engagement_rate": round(4 / 3436, 6), "clicks": 0, "leads": 3, "qualified": 1}
    winter = rows["marketing.campaign.Winter Launch"]
    assert (winter["posts"], winter["reach"], winter["engagements"], winter["leads"], winter["qualified"]) == (1, 1074, 3, 2, 1)
    assert rows["marketing.template.product-launch"]["engagements"] == 3
    assert rows["marketing.template.(free text)"]["engagements"] == 1
    assert rows["marketing.week.2026-W48"]["posts"] == 2
    assert rows["marketing.slot.Mon-09"] | {} == {**rows["marketing.slot.Mon-09"], "posts": 2, "engagements": 4, "leads": 3}


def test_frequency_is_na_without_unique_reach():
    from socialsell.reports.marketing import totals

    x_like = {"reach": None, "impressions": 500, "clicks": None, "engagements": 5, "leads": 0, "qualified": 0}
    figures_ = totals([x_like])
    assert (figures_["reach"], figures_["frequency"], figures_["clicks"], figures_["engagement_rate"]) == ("n/a", "n/a", "n/a", 0.01)


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
    import subprocess
    import sys

    code = ("import sys; from socialsell.cli import main\n"
            "try:\n    main(['--config', sys.argv[1], 'report', '--format', 'json'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'rich', 'tweepy', 'apscheduler')))")
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
