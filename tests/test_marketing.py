"""Marketing: posts and their lifecycle, guardrails, queue and slots, campaigns, recurring and
evergreen posts, CSV import and export — through the CLI and the domain functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from socialsell.db import schema as t
from socialsell.errors import UsageError
from socialsell.loop.publishing import publish_due
from socialsell.marketing import guardrails
from socialsell.marketing.posts import create_post, edit_post, get_post, list_posts
from socialsell.plugins.channel import Rejected

BERLIN = "Europe/Berlin"




def snapshot(app) -> dict[str, object]:
    """Everything a marketing command may change: the rows and the config file."""
    with app.db.read() as conn:
        rows = {
            name: [tuple(r) for r in conn.execute(select(table).order_by(table.c.id)).all()]
            for name, table in (("posts", t.posts), ("deliveries", t.deliveries), ("campaigns", t.campaigns))
        }
    rows["config"] = app.workspace.config_path.read_text()
    return rows


def add_config(workspace: Path, extra: str) -> None:
    workspace.write_text(workspace.read_text() + extra)


def set_guardrails(workspace: Path, body: str) -> None:
    text = workspace.read_text()
    start = text.index("[guardrails]")
    end = text.index("# --- the loop")
    workspace.write_text(text[:start] + "[guardrails]\n" + body + "\n\n" + text[end:])


def local(dt: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    from zoneinfo import ZoneInfo

    return dt.astimezone(ZoneInfo(BERLIN)).strftime(fmt)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    return lines[0]


# --- creation, validation and the database left unchanged -----------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--text", "hello", "--at", "2020-01-01 09:00"], "is in the past"),
    (["--text", "hello", "--at", "someday"], "cannot read the time"),
    (["--text", "hello", "--at", "+1h", "--queue"], "either --at or --queue"),
    (["--text", "we guarantee results", "--queue"], "banned word 'guarantee'"),
    (["--text", "x" * 501, "--queue"], "501 characters is over Sandbox's limit of 500"),
    (["--text", "hi", "--template", "tip", "--queue"], "either --text or --template"),
    (["--template", "nope", "--queue"], "unknown template 'nope'"),
    (["--text", "hi", "--queue", "--campaign", "Nope"], "unknown campaign 'Nope'"),
    (["--text", "hi", "--repeat", "7d"], "needs its first time"),
    (["--text", "hi", "--queue", "--repeat", "often"], "cannot read the interval"),
    (["--text", "hi", "--queue", "--count", "3"], "go with --repeat"),
    (["--text", "hi", "--queue", "--repeat", "7d", "--until", "2020-01-01"], "in the past"),
])  # fmt: skip
def test_bad_post_new_is_one_line_exit_2_and_changes_nothing(cli, app, args, message):
    before = snapshot(app)
    result = cli("post", "new", "--channel", "sandbox", *args)
    assert message in one_line_error(result)
    assert snapshot(app) == before


def test_unknown_channel_account_changes_nothing(cli, app):
    before = snapshot(app)
    line = one_line_error(cli("post", "new", "--channel", "nope", "--text", "hi", "--queue"))
    assert "unknown channel account 'nope'" in line
    assert snapshot(app) == before


def test_past_time_message_is_in_the_workspace_zone(cli):
    line = one_line_error(cli("post", "new", "-c", "sandbox", "--text", "hi", "--at", "2026-11-23 08:30"))
    assert "Mon 2026-11-23 08:30 (Europe/Berlin) is in the past" in line


def test_queue_takes_successive_free_slots(cli):
    dues = []
    for i in range(4):
        result = cli("post", "new", "--channel", "sandbox", "--text", f"post {i}", "--queue", "--json")
        assert result.exit_code == 0, result.output
        dues.append(json.loads(result.output)[0]["deliveries"][0]["due_at"])
    # clock: Mon 09:00 Berlin; slots mon-fri 09:00, 12:30, 16:00 (09:00 is not strictly after now)
    assert [local(datetime.fromisoformat(d)) for d in dues] == [
        "2026-11-23 12:30", "2026-11-23 16:00", "2026-11-24 09:00", "2026-11-24 12:30"]


def test_cancelled_slot_is_free_again(cli, app):
    a = create_post(app, accounts=["sandbox"], text="a", queue=True)
    cli("post", "cancel", str(a))
    b = create_post(app, accounts=["sandbox"], text="b", queue=True)
    assert get_post(app, b)["deliveries"][0]["due_at"] == get_post(app, a)["deliveries"][0]["due_at"]


def test_queue_without_slots_is_a_clear_error(cli, workspace, app):
    add_config(workspace, '\n[[accounts]]\nname = "noslots"\nchannel = "sandbox"\n')
    before = snapshot(app)
    line = one_line_error(cli("post", "new", "-c", "sandbox", "-c", "noslots", "--text", "hi", "--queue"))
    assert "'noslots' has no posting slots" in line
    assert snapshot(app) == before


# --- guardrails ---------------------------------------------------------------------------------------------


def test_utm_tags_links_per_channel_and_campaign_and_never_twice(cli, workspace):
    add_config(workspace, '\n[[accounts]]\nname = "acme-x"\nchannel = "x"\nslots = ["daily 10:00"]\n')
    assert cli("campaign", "new", "Winter Launch", "--utm", "winter26").exit_code == 0
    text = "New: https://acme.example/a?ref=1. Old: https://acme.example/b?utm_source=news&x=1"
    result = cli("post", "new", "-c", "sandbox", "-c", "acme-x", "--text", text, "--queue", "--campaign", "Winter Launch", "--json")
    assert result.exit_code == 0, result.output
    assert "Warning: post 1 will not go out on acme-x" in result.stderr  # it has no credentials
    texts = {d["account"]: d["text"] for d in json.loads(result.stdout)[0]["deliveries"]}
    assert texts["sandbox"] == ("New: https://acme.example/a?ref=1&utm_source=sandbox&utm_medium=social&utm_campaign=winter26. "
                                "Old: https://acme.example/b?utm_source=news&x=1")
    assert "utm_source=x&utm_medium=social&utm_campaign=winter26." in texts["acme-x"]


def test_utm_is_configurable(app, workspace, make_app):
    set_guardrails(workspace, 'banned_words = []\n[guardrails.utm]\nmedium = "organic"\nsource = {sandbox = "sbx"}')
    app = make_app()
    post_id = create_post(app, accounts=["sandbox"], text="see https://acme.example", queue=True)
    assert get_post(app, post_id)["deliveries"][0]["text"] == "see https://acme.example?utm_source=sbx&utm_medium=organic"
    set_guardrails(workspace, "[guardrails.utm]\nenabled = false")
    app = make_app()
    post_id = create_post(app, accounts=["sandbox"], text="see https://acme.example", queue=True)
    assert get_post(app, post_id)["deliveries"][0]["text"] == "see https://acme.example"


def test_campaign_hashtags_and_disclaimer_are_added_and_checked(cli, app):
    assert cli("campaign", "new", "Promo", "--hashtag", "promo", "--hashtag", "#acme", "--disclaimer", "Ad: paid partnership.").exit_code == 0
    result = cli("post", "new", "-c", "sandbox", "--text", "Big news #Promo", "--queue", "--campaign", "Promo", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["deliveries"][0]["text"] == "Big news #Promo #acme\nAd: paid partnership."
    campaign = {"name": "Promo", "required_hashtags": ["promo", "acme"], "disclaimer": "Ad: paid partnership."}
    problems = guardrails.check(app, "Big news #promotion", campaign=campaign)
    assert problems == [
        "is missing the required hashtag #promo (campaign 'Promo')",
        "is missing the required hashtag #acme (campaign 'Promo')",
        "is missing the disclaimer 'Ad: paid partnership.' (campaign 'Promo')",
    ]


def test_global_required_hashtag_survives_linkedin_escaping(app, workspace, make_app):
    set_guardrails(workspace, 'banned_words = ["free money"]\nrequired_hashtags = ["acme"]')
    add_config(workspace, '\n[[accounts]]\nname = "acme-page"\nchannel = "linkedin"\nauthor = "urn:li:organization:1"\n')
    app = make_app()
    page = app.channel("acme-page")
    prepared = page.prepare("Hello (world) #acme")
    assert prepared != "Hello (world) #acme"  # little text escaping happened
    assert page.readable(prepared) == "Hello (world) #acme"  # the channel knows what readers see
    assert guardrails.check(app, page.readable(prepared)) == []  # the send-time check judges that
    assert guardrails.check(app, page.readable(page.prepare("Free money! #acme")))[0].startswith("contains the banned word")


def test_banned_word_added_after_creation_fails_at_send_time(app, workspace, make_app, clock):
    post_id = create_post(app, accounts=["sandbox"], text="Totally risk-free offer", at=clock.now + timedelta(minutes=5))
    set_guardrails(workspace, 'banned_words = ["risk-free"]')
    sender = make_app()
    clock.advance(minutes=5)
    publish_due(sender, "w1")
    d = get_post(sender, post_id)["deliveries"][0]
    assert d["status"] == "failed" and "banned word 'risk-free'" in d["error"]


def x_workspace(workspace: Path, make_app):
    add_config(workspace, '\n[[accounts]]\nname = "acme-x"\nchannel = "x"\nslots = ["daily 10:00"]\n')
    return make_app()


@pytest.mark.parametrize("text, length", [
    ("a" * 280, 280),
    ("😀" * 140, 280),  # an emoji weighs 2
    ("日本語" * 46 + "日本", 280),  # CJK weighs 2
    ("see " + "https://example.com/" + "x" * 200, 4 + 23),  # any URL weighs 23
    ("👩‍👩‍👧‍👦 family", 2 + 7),  # one ZWJ emoji sequence weighs 2
])  # fmt: skip
def test_x_weighted_length_fits(app, workspace, make_app, text, length):
    set_guardrails(workspace, "[guardrails.utm]\nenabled = false")
    app = x_workspace(workspace, make_app)
    assert app.channel("acme-x").measure(text) == length
    post_id = create_post(app, accounts=["acme-x"], text=text, queue=True)
    assert get_post(app, post_id)["deliveries"][0]["status"] == "scheduled"


@pytest.mark.parametrize("text, length", [("a" * 281, 281), ("😀" * 141, 282), ("日本語" * 47, 282)])
def test_x_over_the_limit_is_refused_as_x_counts(cli, app, workspace, make_app, text, length):
    x_workspace(workspace, make_app)
    before = snapshot(app)
    line = one_line_error(cli("post", "new", "-c", "acme-x", "--text", text, "--queue"))
    assert line == f"Error: acme-x: {length} characters is over X's limit of 280"
    assert snapshot(app) == before


def test_long_url_with_utm_still_counts_23_on_x(workspace, make_app):
    app = x_workspace(workspace, make_app)
    text = "x" * 250 + " https://acme.com/" + "p" * 100
    post_id = create_post(app, accounts=["acme-x"], text=text, queue=True)
    sent = get_post(app, post_id)["deliveries"][0]["text"]
    assert "utm_source=x" in sent and app.channel("acme-x").measure(sent) == 250 + 1 + 23


# --- lifecycle ----------------------------------------------------------------------------------------------


def two_accounts(workspace: Path, make_app):
    add_config(workspace, '\n[[accounts]]\nname = "sandbox2"\nchannel = "sandbox"\nslots = ["mon-fri 09:00"]\nseed = "two"\n')
    return make_app()


def test_one_account_publishes_one_fails_shows_exactly_that(cli, workspace, make_app, clock):
    app = two_accounts(workspace, make_app)
    post_id = create_post(app, accounts=["sandbox", "sandbox2"], text="Launch day", at=clock.now + timedelta(minutes=1))

    def refuse(text, *, media=()):
        raise Rejected("403: this account may not post")

    app.channel("sandbox2").publish = refuse
    clock.advance(minutes=1)
    publish_due(app, "w1")
    rows = json.loads(cli("post", "list", "--json").output)
    statuses = {d["account"]: d["status"] for d in rows[0]["deliveries"]}
    assert rows[0]["id"] == post_id and statuses == {"sandbox": "published", "sandbox2": "failed"}
    human = cli("post", "list").output
    assert "published" in human and "failed" in human and "403" in human
    assert cli("post", "list", "--status", "failed", "--json").output.count('"sandbox2"') == 1
    # retry puts back only the failed one
    assert cli("post", "retry", str(post_id)).exit_code == 0
    statuses = {d["account"]: d["status"] for d in get_post(app, post_id)["deliveries"]}
    assert statuses == {"sandbox": "published", "sandbox2": "scheduled"}


def test_draft_approve_schedule_publish(cli, app, clock):
    result = cli("post", "new", "-c", "sandbox", "--text", "hello", "--at", "+1h", "--draft", "--json")
    post_id = json.loads(result.output)[0]["id"]
    assert json.loads(result.output)[0]["deliveries"][0]["status"] == "draft"
    clock.advance(hours=1)
    publish_due(app, "w1")
    assert get_post(app, post_id)["deliveries"][0]["status"] == "draft"  # a draft never goes out
    assert cli("post", "approve", str(post_id)).exit_code == 0
    assert get_post(app, post_id)["deliveries"][0]["status"] == "scheduled"
    publish_due(app, "w1")
    assert get_post(app, post_id)["deliveries"][0]["status"] == "published"
    assert "no draft delivery" in one_line_error(cli("post", "approve", str(post_id)))
    assert "nothing left to cancel" in one_line_error(cli("post", "cancel", str(post_id)))


def test_require_approval_makes_drafts(cli, workspace, make_app):
    workspace.write_text(workspace.read_text().replace("require_approval = false", "require_approval = true"))
    result = cli("post", "new", "-c", "sandbox", "--text", "hello", "--queue", "--json")
    assert json.loads(result.output)[0]["deliveries"][0]["status"] == "draft"
    post_id = json.loads(result.output)[0]["id"]
    assert cli("post", "approve", str(post_id), actor="morgan").exit_code == 0
    post = get_post(make_app(), post_id)
    assert post["deliveries"][0]["status"] == "scheduled" and post["approved_by"] == "morgan"
    # an edit after approval needs approval again
    assert cli("post", "edit", str(post_id), "--text", "hello again").exit_code == 0
    assert get_post(make_app(), post_id)["deliveries"][0]["status"] == "draft"


def test_edit_text_time_and_template_vars_before_sending(cli, app, clock):
    post_id = create_post(app, accounts=["sandbox"], template="tip", variables={"tip": "Reply fast."}, queue=True)
    assert cli("post", "edit", str(post_id), "--var", "tip=Reply within an hour.", "--at", "tomorrow 11:00").exit_code == 0
    d = get_post(app, post_id)["deliveries"][0]
    assert d["text"] == "Tip of the week: Reply within an hour. #salestips"
    assert local(d["due_at"]) == "2026-11-24 11:00" and d["status"] == "scheduled"
    assert get_post(app, post_id)["variables"] == {"tip": "Reply within an hour."}
    before = snapshot(app)
    assert "banned word" in one_line_error(cli("post", "edit", str(post_id), "--text", "we guarantee it"))
    assert "501 characters" in one_line_error(cli("post", "edit", str(post_id), "--text", "y" * 501))
    assert "in the past" in one_line_error(cli("post", "edit", str(post_id), "--at", "2020-01-01 10:00"))
    assert "nothing to change" in one_line_error(cli("post", "edit", str(post_id)))
    assert "no post with id 99" in one_line_error(cli("post", "edit", "99", "--text", "x"))
    assert snapshot(app) == before


def test_edit_of_sent_delivery_is_refused_and_changes_nothing(cli, workspace, make_app, clock):
    app = two_accounts(workspace, make_app)
    post_id = create_post(app, accounts=["sandbox"], text="hello", at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=1)
    publish_due(app, "w1")
    before = snapshot(app)
    line = one_line_error(cli("post", "edit", str(post_id), "--text", "changed"))
    assert line == f"Error: post {post_id} on sandbox is published: only a post not yet sent can be edited"
    other = create_post(app, accounts=["sandbox2"], text="second", queue=True)
    with app.db.write() as conn:  # a delivery being sent right now
        conn.execute(update(t.deliveries).where(t.deliveries.c.post_id == other).values(status="sending"))
    before = snapshot(app)
    assert "is sending" in one_line_error(cli("post", "edit", str(other), "--at", "+2d"))
    assert snapshot(app) == before


def test_edit_one_channel_of_a_partly_sent_post(workspace, make_app, clock):
    app = two_accounts(workspace, make_app)
    post_id = create_post(app, accounts=["sandbox", "sandbox2"], text="hello", at=clock.now + timedelta(hours=2))
    with app.db.write() as conn:
        conn.execute(update(t.deliveries).where(t.deliveries.c.account_id == app.account_id("sandbox"))
                     .values(status="published", published_at=clock.now))
    with pytest.raises(UsageError, match="edit the others with --channel NAME"):
        edit_post(app, post_id, text="changed")
    assert edit_post(app, post_id, text="changed", account="sandbox2") == ["sandbox2"]
    texts = {d["account"]: d["text"] for d in get_post(app, post_id)["deliveries"]}
    assert texts == {"sandbox": "hello", "sandbox2": "changed"}


# --- queue, calendar and slots ------------------------------------------------------------------------------


def test_queue_calendar_by_day_with_status_json_and_filters(cli, workspace, make_app, clock):
    app = two_accounts(workspace, make_app)
    a = create_post(app, accounts=["sandbox"], text="first", queue=True)
    b = create_post(app, accounts=["sandbox", "sandbox2"], text="second", at=clock.now + timedelta(days=2))
    create_post(app, accounts=["sandbox"], text="far away", at=clock.now + timedelta(days=30))
    rows = json.loads(cli("queue", "--json").output)
    assert [(r["id"], r["account"], r["status"]) for r in rows] == [(a, "sandbox", "scheduled"), (b, "sandbox", "scheduled"), (b, "sandbox2", "scheduled")]
    assert [r["id"] for r in json.loads(cli("queue", "--json", "--channel", "sandbox2").output)] == [b]
    assert [r["id"] for r in json.loads(cli("queue", "--json", "--days", "1").output)] == [a]
    human = cli("queue", "--days", "3").output
    assert "Monday 23 November" in human and "Wednesday 25 November" in human
    assert "(free slot)" in human and "12:30  sandbox      scheduled  #1" in human
    assert "unknown channel account" in one_line_error(cli("queue", "--channel", "nope"))


def test_queue_is_read_only_and_imports_no_network_library(cli, app):
    import subprocess
    import sys

    create_post(app, accounts=["sandbox"], text="first", queue=True)
    code = (
        "import sys; from socialsell.cli import main\n"
        "try:\n    main(['--config', sys.argv[1], 'queue', '--json'])\nexcept SystemExit: pass\n"
        "try:\n    main(['--config', sys.argv[1], 'post', 'list', '--json'])\nexcept SystemExit: pass\n"
        "bad = [m for m in ('tweepy', 'linkedin_v2', 'apscheduler') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(app.workspace.config_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_slots_show_and_edit_keep_comments(cli, workspace, app):
    rows = json.loads(cli("slots", "--json").output)
    assert rows[0]["slots"] == ["mon-fri 09:00, 12:30, 16:00"]
    result = cli("slots", "--channel", "sandbox", "--set", "mon-fri 09:00, 12:30")
    assert result.exit_code == 0, result.output
    assert cli("slots", "--channel", "sandbox", "--add", "sat 10:00").exit_code == 0
    assert cli("slots", "--channel", "sandbox", "--remove", "12:30").exit_code == 0
    text = workspace.read_text()
    assert 'slots = ["mon-fri 09:00", "sat 10:00"]' in text
    assert "# weekly posting slots for `post new --queue`" in text  # the comment is kept
    assert "# --- the sales team" in text
    assert json.loads(cli("slots", "--channel", "sandbox", "--json").output)[0]["slots"] == ["mon-fri 09:00", "sat 10:00"]
    before = snapshot(app)
    assert "cannot read the slot rule" in one_line_error(cli("slots", "--channel", "sandbox", "--add", "whenever"))
    assert "name the account" in one_line_error(cli("slots", "--set", "mon 09:00"))
    assert "no slot at that time" in one_line_error(cli("slots", "--channel", "sandbox", "--remove", "07:00"))
    assert snapshot(app) == before


@pytest.mark.parametrize("now, expected", [
    # Friday before the March change (28 March 2027): Monday 09:00 is 07:00 UTC, not 08:00
    (datetime(2027, 3, 26, 12, 0, tzinfo=UTC), [("2027-03-29 09:00", 7), ("2027-03-30 09:00", 7)]),
    # Friday before the October change (31 October 2027): Monday 09:00 is 08:00 UTC
    (datetime(2027, 10, 29, 12, 0, tzinfo=UTC), [("2027-11-01 09:00", 8), ("2027-11-02 09:00", 8)]),
])  # fmt: skip
def test_queue_slots_do_not_shift_across_dst(cli, app, clock, now, expected):
    clock.now = now
    assert cli("slots", "--channel", "sandbox", "--set", "mon-fri 09:00").exit_code == 0
    got = []
    for _ in expected:
        result = cli("post", "new", "-c", "sandbox", "--text", f"post {len(got)}", "--queue", "--json")
        due = datetime.fromisoformat(json.loads(result.output)[0]["deliveries"][0]["due_at"])
        got.append((local(due), due.hour))
    assert got == expected


@pytest.mark.parametrize("start, at", [
    (datetime(2027, 3, 27, 9, 0, tzinfo=UTC), "tomorrow 09:00"),  # Sun 28 March 2027, after the change
    (datetime(2027, 10, 30, 9, 0, tzinfo=UTC), "tomorrow 09:00"),  # Sun 31 October 2027
])  # fmt: skip
def test_at_friendly_time_on_a_dst_day_is_local(cli, clock, start, at):
    clock.now = start
    result = cli("post", "new", "-c", "sandbox", "--text", "x", "--at", at, "--json")
    due = datetime.fromisoformat(json.loads(result.output)[0]["deliveries"][0]["due_at"])
    assert local(due, "%H:%M") == "09:00"


# --- campaigns ----------------------------------------------------------------------------------------------


def test_campaign_new_list_show_with_metrics(cli, app, clock):
    result = cli("campaign", "new", "Winter Launch", "--goal", "200 demo requests", "--starts", "2026-12-01",
                 "--ends", "2026-12-31", "--persona", "RevOps lead", "--channel", "sandbox", "--budget", "5000",
                 "--hashtag", "winter", "--disclaimer", "Ad.")
    assert result.exit_code == 0, result.output
    rows = json.loads(cli("campaign", "list", "--json").output)
    assert [(r["name"], r["utm_campaign"], r["posts"], r["budget"]) for r in rows] == [("Winter Launch", "winter-launch", 0, 5000.0)]
    assert local(datetime.fromisoformat(rows[0]["starts_on"])) == "2026-12-01 00:00"
    # a post without --channel goes to the campaign's channels
    post_id = json.loads(cli("post", "new", "--campaign", "Winter Launch", "--text", "Snow", "--at", "+1m", "--json").output)[0]["id"]
    clock.advance(minutes=1)
    publish_due(app, "w1")
    d = get_post(app, post_id)["deliveries"][0]
    assert d["status"] == "published"
    with app.db.write() as conn:  # two metric snapshots: the latest counts
        for at, reach, imp in ((clock.now, 10, 20), (clock.now + timedelta(hours=1), 40, 90)):
            conn.execute(insert(t.post_metrics).values(delivery_id=d["id"], fetched_at=at, reach=reach, impressions=imp))
        for i in range(3):
            conn.execute(insert(t.engagements).values(account_id=app.account_id("sandbox"), external_id=f"e{i}",
                                                      kind="like", delivery_id=d["id"], occurred_at=clock.now,
                                                      ingested_at=clock.now))
    shown = json.loads(cli("campaign", "show", "Winter Launch", "--json").output)[0]
    assert shown["totals"] == {"reach": 40, "impressions": 90, "engagements": 3, "published": 1}
    assert shown["posts"][0]["deliveries"][0]["engagements"] == 3
    human = cli("campaign", "show", "Winter Launch").output
    assert "reach 40, impressions 90 (metrics of Mon 23 Nov 10:01), engagements 3, frequency 2.25" in human
    assert "Winter Launch" in cli("campaign", "list").output


@pytest.mark.parametrize("args, message", [
    (["Dup"], "exists already"),
    (["X", "--starts", "2026-12-31", "--ends", "2026-12-01"], "is before --starts"),
    (["X", "--starts", "someday"], "campaign dates"),
    (["X", "--channel", "nope"], "unknown channel account"),
    (["X", "--utm", "has space"], "--utm"),
    (["X", "--hashtag", "two words"], "--hashtag"),
    (["X", "--budget", "-1"], "negative"),
])  # fmt: skip
def test_bad_campaign_is_refused_and_changes_nothing(cli, app, args, message):
    assert cli("campaign", "new", "Dup").exit_code == 0
    before = snapshot(app)
    assert message in one_line_error(cli("campaign", "new", *args))
    assert snapshot(app) == before
    assert "no campaign named 'Nope'" in one_line_error(cli("campaign", "show", "Nope"))


# --- recurring and evergreen --------------------------------------------------------------------------------


def publish_all(app, clock, until: datetime) -> None:
    clock.now = until
    publish_due(app, "w1")


def test_recurring_post_next_occurrence_after_publish_across_march_dst(cli, app, clock):
    from socialsell.marketing.recurring import schedule_next_occurrences

    clock.now = datetime(2027, 3, 15, 7, 0, tzinfo=UTC)  # Monday 08:00 CET
    result = cli("post", "new", "-c", "sandbox", "--text", "Weekly tip", "--at", "2027-03-22 09:00", "--repeat", "7d", "--count", "3", "--json")
    assert result.exit_code == 0, result.output
    first = json.loads(result.output)[0]["id"]
    assert get_post(app, first)["recurrence"] == {"every": "7d", "count": 3}
    assert schedule_next_occurrences(app) == []  # nothing before the first one is published
    publish_all(app, clock, datetime(2027, 3, 22, 8, 0, tzinfo=UTC))
    second = schedule_next_occurrences(app)
    assert len(second) == 1 and schedule_next_occurrences(app) == []  # idempotent
    due = get_post(app, second[0])["deliveries"][0]["due_at"]
    assert local(due) == "2027-03-29 09:00" and due.hour == 7  # after the change, still 09:00 local
    publish_all(app, clock, due)
    third = schedule_next_occurrences(app)
    publish_all(app, clock, get_post(app, third[0])["deliveries"][0]["due_at"])
    assert schedule_next_occurrences(app) == []  # --count 3 reached
    assert get_post(app, third[0])["recurrence_parent_id"] == first


def test_recurring_until_october_dst_and_stops(app, clock):
    from socialsell.marketing.posts import parse_recurrence
    from socialsell.marketing.recurring import schedule_next_occurrences

    clock.now = datetime(2027, 10, 20, 6, 0, tzinfo=UTC)
    rec = parse_recurrence(app, "1w", "2027-11-02", None)
    first = create_post(app, accounts=["sandbox"], text="Weekly", at=datetime(2027, 10, 25, 7, 0, tzinfo=UTC), recurrence=rec)
    assert local(get_post(app, first)["deliveries"][0]["due_at"]) == "2027-10-25 09:00"
    publish_all(app, clock, datetime(2027, 10, 25, 7, 0, tzinfo=UTC))
    nxt = schedule_next_occurrences(app)
    due = get_post(app, nxt[0])["deliveries"][0]["due_at"]
    assert local(due) == "2027-11-01 09:00" and due.hour == 8
    publish_all(app, clock, due)
    assert schedule_next_occurrences(app) == []  # 8 November is after --until


def test_cancelled_occurrence_ends_the_series(cli, app, clock):
    from socialsell.marketing.recurring import schedule_next_occurrences

    result = cli("post", "new", "-c", "sandbox", "--text", "Daily", "--at", "+1h", "--repeat", "1d", "--json")
    post_id = json.loads(result.output)[0]["id"]
    cli("post", "cancel", str(post_id))
    clock.advance(hours=2)
    publish_due(app, "w1")
    assert schedule_next_occurrences(app) == []


def published_evergreen(app, clock, text: str, engagements: int, when: datetime) -> int:
    post_id = create_post(app, accounts=["sandbox"], text=text, at=clock.now + timedelta(minutes=1), evergreen=True)
    with app.db.write() as conn:
        conn.execute(update(t.deliveries).where(t.deliveries.c.post_id == post_id)
                     .values(status="published", published_at=when, due_at=when, remote_id=f"r{post_id}"))
        d_id = conn.execute(select(t.deliveries.c.id).where(t.deliveries.c.post_id == post_id)).scalar()
        for i in range(engagements):
            conn.execute(insert(t.engagements).values(account_id=app.account_id("sandbox"), external_id=f"{post_id}-{i}",
                                                      kind="like", delivery_id=d_id, occurred_at=when, ingested_at=when))
    return post_id


def test_fill_empty_slots_uses_best_performers_and_respects_the_gap(cli, app, workspace, clock, make_app):
    from socialsell.marketing.evergreen import fill_empty_slots

    add_config(workspace, '\n[marketing]\nevergreen_gap = "30d"\n')
    cli("slots", "--channel", "sandbox", "--set", "mon-fri 09:00")
    app = make_app()
    old = clock.now - timedelta(days=60)
    best = published_evergreen(app, clock, "Best performer", 5, old)
    published_evergreen(app, clock, "Runner up", 2, old)
    published_evergreen(app, clock, "Too recent", 50, clock.now - timedelta(days=3))
    create_post(app, accounts=["sandbox"], text="Not evergreen, very good", at=clock.now + timedelta(days=10))
    queued = fill_empty_slots(app, clock.now, 3)
    # Tue 24, Wed 25, Thu 26 09:00 are empty (Mon 09:00 is now)
    assert [(local(q["due_at"]), q["text"]) for q in queued] == [
        ("2026-11-24 09:00", "Best performer"), ("2026-11-25 09:00", "Runner up")]
    assert queued[0]["source"] == best
    assert fill_empty_slots(app, clock.now, 3) == []  # nothing left that respects the gap
    rows = json.loads(cli("queue", "--json", "--days", "3").output)
    assert [r["text"] for r in rows] == ["Best performer", "Runner up"]


def test_queue_fill_evergreen_cli(cli, app, clock):
    published_evergreen(app, clock, "Evergreen classic", 1, clock.now - timedelta(days=90))
    result = cli("queue", "--fill-evergreen", "--days", "1")
    assert result.exit_code == 0, result.output
    assert "queued 1 evergreen post into empty slots" in result.output
    assert "Evergreen classic" in result.output


# --- CSV import and export ----------------------------------------------------------------------------------


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "posts.csv"
    path.write_text(text)
    return path


def test_import_valid_csv_with_several_channels_and_vars(cli, app, workspace, make_app, tmp_path):
    app = two_accounts(workspace, make_app)
    assert cli("campaign", "new", "Q1").exit_code == 0
    path = write_csv(tmp_path, (
        "channel,text,template,vars,at,campaign\n"
        "sandbox;sandbox2,Hello both,,,2026-12-01 10:00,Q1\n"
        'sandbox,,tip,"tip=Reply fast.",,\n'
        "sandbox,Queued one,,,,\n"
    ))
    result = cli("import", "posts", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 3 posts" in result.output
    posts = list_posts(app)
    by_text = {p["text"]: p for p in posts}
    assert sorted(d["account"] for d in by_text["Hello both"]["deliveries"]) == ["sandbox", "sandbox2"]
    assert by_text["Hello both"]["campaign"] == "Q1"
    assert any(p["deliveries"][0]["text"] == "Tip of the week: Reply fast. #salestips" for p in posts)
    # export round trip
    out = cli("post", "list", "--csv").output.splitlines()
    assert out[0] == "id,delivery,channel,status,at,published_at,campaign,text,url,error"
    assert len(out) == 5


def test_import_errors_name_row_and_column_and_import_nothing(cli, app, tmp_path):
    path = write_csv(tmp_path, (
        "channel,text,template,vars,at,campaign\n"
        "sandbox,Fine,,,,\n"
        "nope,Hi,,,,\n"
        "sandbox,,tip,,,\n"
        "sandbox,Hi,,,yesterday-ish,\n"
        "sandbox,we guarantee it,,,,\n"
        "sandbox,Hi,,,,Nope\n"
        "sandbox,,tip,tip,,\n"
        "sandbox,Hi,tip,,,\n"
        "sandbox,Hi,,,2020-01-01 09:00,\n"
    ))
    before = snapshot(app)
    result = cli("import", "posts", str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[:-1] == [
        "Error: posts.csv: row 3, column channel: unknown channel account 'nope' (configured: sandbox)",
        "Error: posts.csv: row 4, column vars: template tip: missing variable tip (pass --var tip=...)",
        "Error: posts.csv: row 5, column at: cannot read the time 'yesterday-ish': use ISO (2026-12-01 09:00), 'tomorrow 09:00', 'mon 10:00' or '+2h'",
        "Error: posts.csv: row 6, column text: sandbox: the post contains the banned word 'guarantee' ([guardrails] banned_words)",
        "Error: posts.csv: row 7, column campaign: unknown campaign 'Nope': create it with `socialsell campaign new Nope`",
        "Error: posts.csv: row 8, column vars: 'tip': use k=v;k2=v2",
        "Error: posts.csv: row 9, column text: give either text or template (exactly one)",
        "Error: posts.csv: row 10, column at: 2020-01-01 09:00 is in the past",
    ]
    assert lines[-1] == "Error: 8 of 9 rows are invalid: nothing imported (fix them, or --skip-invalid to import the others)"
    assert snapshot(app) == before
    # --dry-run checks and imports nothing either
    assert cli("import", "posts", str(path), "--dry-run").exit_code == 2
    assert snapshot(app) == before
    # --skip-invalid imports the good row
    result = cli("import", "posts", str(path), "--skip-invalid")
    assert result.exit_code == 0 and "imported 1 posts" in result.output and "skipped 8" in result.output
    assert [p["text"] for p in list_posts(app)] == ["Fine"]


@pytest.mark.parametrize("content, message", [
    ("channel,body\nsandbox,x\n", "row 1: unknown column 'body'"),
    ("channel,at\nsandbox,+1h\n", "needs a text or a template column"),
    ("", "empty file"),
    ('channel,text\nsandbox,"x,y",extra\n', "row 2: more fields than the header"),
])  # fmt: skip
def test_import_bad_file_shapes(cli, app, tmp_path, content, message):
    path = write_csv(tmp_path, content)
    before = snapshot(app)
    assert message in one_line_error(cli("import", "posts", str(path)))
    assert snapshot(app) == before
    assert "no such file" in one_line_error(cli("import", "posts", str(tmp_path / "missing.csv")))


def test_import_dry_run_of_valid_file(cli, app, tmp_path):
    path = write_csv(tmp_path, "channel,text\nsandbox,One\nsandbox,Two\n")
    before = snapshot(app)
    result = cli("import", "posts", str(path), "--dry-run")
    assert result.exit_code == 0 and "2 of 2 rows are valid; nothing imported" in result.output
    assert snapshot(app) == before


def test_import_large_file_takes_successive_slots(cli, app, tmp_path):
    lines = ["channel,text"] + [f"sandbox,Post number {i}" for i in range(250)]
    path = write_csv(tmp_path, "\n".join(lines) + "\n")
    result = cli("import", "posts", str(path))
    assert result.exit_code == 0, result.output
    with app.db.read() as conn:
        n, distinct = conn.execute(select(func.count(), func.count(t.deliveries.c.due_at.distinct()))).one()
    assert n == 250 and distinct == 250  # no two posts share a slot


def test_post_list_json_export_carries_deliveries(cli, app):
    create_post(app, accounts=["sandbox"], text="one", queue=True)
    rows = json.loads(cli("post", "list", "--json").output)
    assert rows[0]["id"] == 1 and rows[0]["deliveries"][0]["status"] == "scheduled"


def test_marketing_flow_on_both_databases(make_app, workspace, clock, db_url, tmp_path):
    """Create, edit, publish, recur, fill evergreen slots, import, campaign figures: SQLite and PostgreSQL."""
    from socialsell.marketing.campaigns import create_campaign, get_campaign
    from socialsell.marketing.evergreen import fill_empty_slots
    from socialsell.marketing.importer import import_posts
    from socialsell.marketing.recurring import schedule_next_occurrences

    app = make_app(db_url)
    create_campaign(app, "Both", hashtags=["both"])
    post_id = create_post(app, accounts=["sandbox"], text="Weekly", at=clock.now + timedelta(minutes=1),
                          campaign="Both", recurrence={"every": "7d", "count": 2}, evergreen=True)
    edit_post(app, post_id, text="Weekly news")
    clock.advance(minutes=1)
    publish_due(app, "w1")
    [nxt] = schedule_next_occurrences(app)
    assert get_post(app, nxt)["deliveries"][0]["text"] == "Weekly news #both"
    assert get_campaign(app, "Both")["totals"]["published"] == 1
    clock.advance(days=60)
    assert fill_empty_slots(app, clock.now, 1)[0]["text"] == "Weekly news #both"
    path = write_csv(tmp_path, "channel,text\nsandbox,Imported\n")
    assert len(import_posts(app, path).imported) == 1
