"""The plugin system: discovery, allow/block lists, --plugins-dir, and every hook.

Each hook has a test named ``test_hook_<name>_...``; ``test_every_hook_has_a_test`` and
``test_every_hook_is_documented`` keep it that way.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from socialsell import hookimpl
from socialsell.errors import ConfigError, UsageError
from socialsell.plugins import hookspecs
from socialsell.plugins.channel import Channel, Engagement, Person, Published
from socialsell.plugins.manager import build_plugin_manager, channel_types, describe_plugins
from socialsell.plugins.views import ContactView, DeliveryView, EngagementView, PostView, TaskView

ROOT = Path(__file__).resolve().parent.parent


def hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "socialsell_spec"))


# --- meta ----------------------------------------------------------------------------------------


def test_every_hook_has_a_test():
    tests = {name for name, _ in inspect.getmembers(sys.modules[__name__], inspect.isfunction)}
    missing = [h for h in hook_names() if not any(t.startswith(f"test_hook_{h}_") for t in tests)]
    assert missing == [], f"hooks without a test_hook_<name>_... test: {missing}"


def test_every_hook_is_documented():
    doc = (ROOT / "docs" / "plugins.md").read_text()
    for name in hook_names():
        spec = getattr(hookspecs, name)
        params = ", ".join(inspect.signature(spec).parameters)
        assert f"#### `{name}({params})`" in doc, f"docs/plugins.md has no heading for {name}({params})"
        signature = re.sub(r"'", "", f"{name}{inspect.signature(spec)}")
        assert f"`{signature}`" in doc, f"docs/plugins.md does not show the exact signature {signature}"
        if spec.socialsell_spec["firstresult"]:
            assert "Stops at the first non-None result" in (spec.__doc__ or "")


def test_hookspecs_are_typed_and_documented():
    for name in hook_names():
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and ":param" in spec.__doc__, name
        sig = inspect.signature(spec)
        assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()), name


# --- discovery -----------------------------------------------------------------------------------


def test_builtin_channels_load_through_entry_points(pm):
    names = {r["name"] for r in describe_plugins(pm)}
    assert {"sandbox", "x", "linkedin"} <= names
    assert set(channel_types(pm)) >= {"sandbox", "x", "linkedin"}


def test_allowlist_and_blocklist(monkeypatch):
    monkeypatch.setenv("SOCIALSELL_LOAD_PLUGINS", "sandbox")
    assert {r["name"] for r in describe_plugins(build_plugin_manager())} == {"sandbox"}
    monkeypatch.setenv("SOCIALSELL_LOAD_PLUGINS", "")
    assert describe_plugins(build_plugin_manager()) == []
    monkeypatch.delenv("SOCIALSELL_LOAD_PLUGINS")
    monkeypatch.setenv("SOCIALSELL_BLOCK_PLUGINS", "x,linkedin")
    names = {r["name"] for r in describe_plugins(build_plugin_manager())}
    assert "x" not in names and "linkedin" not in names and "sandbox" in names


def test_plugins_dir_and_misspelled_hook_fails_loudly(tmp_path):
    folder = tmp_path / "plugs"
    folder.mkdir()
    (folder / "hello.py").write_text(
        "from socialsell import hookimpl\n@hookimpl\ndef task_created(task, contact):\n    pass\n"
    )
    pm = build_plugin_manager(folder)
    row = next(r for r in describe_plugins(pm) if r["name"] == "hello")
    assert row["hooks"] == ["task_created"]
    (folder / "typo.py").write_text("from socialsell import hookimpl\n@hookimpl\ndef task_creatd(task):\n    pass\n")
    with pytest.raises(UsageError, match="task_creatd"):
        build_plugin_manager(folder)


def test_plugins_json_lists_hooks_and_versions(cli):
    result = cli("plugins", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["sandbox"]["hooks"] == ["register_channels", "register_commands"]
    assert rows["x"]["version"] and rows["x"]["id"] == "x"


# --- one test per hook ---------------------------------------------------------------------------


class Recorder:
    """A test plugin that records every event hook it receives."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    @hookimpl
    def post_published(self, post, delivery):
        self.calls.append(("post_published", {"post": post, "delivery": delivery}))

    @hookimpl
    def post_failed(self, post, delivery, reason):
        self.calls.append(("post_failed", {"delivery": delivery, "reason": reason}))

    @hookimpl
    def engagement_ingested(self, engagement, contact):
        self.calls.append(("engagement_ingested", {"engagement": engagement, "contact": contact}))

    @hookimpl
    def task_created(self, task, contact):
        self.calls.append(("task_created", {"task": task, "contact": contact}))

    @hookimpl
    def task_closed(self, task, outcome, amount):
        self.calls.append(("task_closed", {"task": task, "outcome": outcome, "amount": amount}))

    @hookimpl
    def sla_breached(self, task, level):
        self.calls.append(("sla_breached", {"task": task, "level": level}))

    @hookimpl
    def account_paused(self, account, reason):
        self.calls.append(("account_paused", {"account": account, "reason": reason}))

    def named(self, name):
        return [c for n, c in self.calls if n == name]


@pytest.fixture
def recorder(pm):
    rec = Recorder()
    pm.register(rec, name="recorder")
    try:
        yield rec
    finally:
        pm.unregister(name="recorder")


def _publish_one(app, clock, text="Hello from the tests"):
    from socialsell.loop.publishing import publish_due
    from socialsell.marketing.posts import create_post

    post_id = create_post(app, accounts=["sandbox"], text=text, at=clock.now + timedelta(minutes=1))
    clock.advance(minutes=2)
    publish_due(app, "w1", clock.now)
    return post_id


def _engage(app, post_id, handle, kind, text=None, headline=None):
    from sqlalchemy import select

    from socialsell.db import schema as t

    with app.db.read() as conn:
        remote = conn.execute(select(t.deliveries.c.remote_id).where(t.deliveries.c.post_id == post_id)).scalar()
    app.channel("sandbox").inject(post_id=remote, kind=kind, handle=handle, text=text, headline=headline, at=app.now())


def _quiet(app):
    """No simulated audience: only what the test injects."""
    app.channel("sandbox").audience = False


def test_hook_register_channels_adds_a_channel_type(pm, make_app):
    class EchoChannel(Channel):
        name = "echo"

        def publish(self, text, *, media=()):
            return Published(remote_id="1")

    class Plugin:
        @hookimpl
        def register_channels(self, register):
            register("echo", EchoChannel)

    pm.register(Plugin(), name="echo-plugin")
    try:
        assert channel_types(pm)["echo"] is EchoChannel
    finally:
        pm.unregister(name="echo-plugin")
    assert "echo" not in channel_types(pm)


def test_hook_register_commands_adds_cli_commands(workspace):
    from click.testing import CliRunner

    from socialsell.cli import build_cli

    folder = workspace.parent / "plugs"
    folder.mkdir()
    (folder / "hi.py").write_text(
        "import click\nfrom socialsell import hookimpl\n"
        "@hookimpl\ndef register_commands(cli):\n"
        "    @cli.command()\n    def hi():\n        click.echo('hi from a plugin')\n"
    )
    result = CliRunner().invoke(build_cli(str(folder)), ["hi"])
    assert result.output == "hi from a plugin\n"
    sandbox = CliRunner().invoke(build_cli(), ["sandbox", "--help"])  # the built-in plugin's command
    assert "engage" in sandbox.output


def test_hook_register_settings_declares_a_checked_section(workspace, clock):
    from socialsell.app import App

    folder = workspace.parent / "plugs"
    folder.mkdir()
    (folder / "echoes.py").write_text(
        "from socialsell.api import Setting, hookimpl\n"
        "@hookimpl\ndef register_settings(register):\n"
        "    register('echoes', [Setting('times', type=int, default=2), Setting('prefix', required=True)])\n"
    )
    workspace.write_text(workspace.read_text() + '\n[echoes]\nprefix = ">"\n')

    def load() -> App:  # the section is named after the plugin, found in the plugins folder at load
        return App.load(str(workspace), pm=build_plugin_manager(folder), plugins_dir=str(folder), clock=clock)

    section = load().plugin_settings("echoes")
    assert (section["prefix"], section["times"]) == (">", 2)
    workspace.write_text(workspace.read_text() + "tims = 3\n")
    with pytest.raises(ConfigError, match=r"\[echoes\] tims: unknown key \(did you mean times\?\)"):
        load().plugin_settings("echoes")


def test_hook_register_jobs_adds_a_job_to_the_loop(pm, make_app, clock):
    from socialsell.loop.worker import Worker, build_jobs, run_once

    ran = []

    class Plugin:
        @hookimpl
        def register_jobs(self, register):
            register("crm-sync", lambda ctx: ran.append(ctx.now), seconds=600)

    pm.register(Plugin(), name="jobs-plugin")
    try:
        app = make_app()
        assert "crm-sync" in [j.id for j in build_jobs(app)]
        run_once(app, Worker(app, id="w1"), clock.now)
        assert ran == [clock.now]
    finally:
        pm.unregister(name="jobs-plugin")


def test_hook_score_engagement_contributions_are_summed(pm, make_app, clock):
    from socialsell.loop.polling import poll_account
    from socialsell.sales.contacts import contact_detail

    class A:
        @hookimpl
        def score_engagement(self, engagement, contact):
            return [("uses our API", 5.0)]

    class B:
        @hookimpl
        def score_engagement(self, engagement, contact):
            return [("in the CRM already", 2.5)]

    pm.register(A(), name="a")
    pm.register(B(), name="b")
    try:
        app = make_app()
        _quiet(app)
        post_id = _publish_one(app, clock)
        _engage(app, post_id, "@pat", "like")
        poll_account(app, "sandbox", "w1", clock.now)
        contact = contact_detail(app, 1)
        assert contact["score"] == pytest.approx(1.0 + 5.0 + 2.5)
        (line,) = [r for r, _ in contact["score_explained"] if r.startswith("like")]
        assert "uses our API" in line and "in the CRM already" in line
    finally:
        pm.unregister(name="a")
        pm.unregister(name="b")


def test_hook_qualify_lead_overrides_thresholds(pm, make_app, clock):
    from socialsell.loop.polling import poll_account
    from socialsell.sales.contacts import contact_detail
    from socialsell.sales.tasks import list_tasks

    class Plugin:
        @hookimpl
        def qualify_lead(self, contact, score, engagements):
            return "disqualified" if "student" in (contact.get("headline") or "").lower() else None

    pm.register(Plugin(), name="qualify")
    try:
        app = make_app()
        _quiet(app)
        post_id = _publish_one(app, clock)
        _engage(app, post_id, "@stu", "comment", "What does pricing look like?", headline="Student")
        _engage(app, post_id, "@buyer", "comment", "What does pricing look like?", headline="Buyer")
        poll_account(app, "sandbox", "w1", clock.now)
        stages = {contact_detail(app, i)["display_name"]: contact_detail(app, i)["stage"] for i in (1, 2)}
        assert stages == {"stu": "disqualified", "buyer": "lead"}  # comment 8 + intent 12
        assert [t["contact"]["name"] for t in list_tasks(app, all_owners=True)] == ["buyer"]
    finally:
        pm.unregister(name="qualify")


def test_hook_assign_owner_decides_the_owner(pm, make_app, clock):
    from socialsell.loop.polling import poll_account
    from socialsell.sales.tasks import list_tasks

    class Plugin:
        @hookimpl
        def assign_owner(self, contact, engagement, team):
            assert team == ["alice", "bob"]
            return "bob"

    pm.register(Plugin(), name="owner")
    try:
        app = make_app()
        _quiet(app)
        post_id = _publish_one(app, clock)
        _engage(app, post_id, "@pat", "reply", "Can I get a demo?")
        poll_account(app, "sandbox", "w1", clock.now)
        assert [t["owner"] for t in list_tasks(app, all_owners=True)] == ["bob"]
    finally:
        pm.unregister(name="owner")


def test_hook_post_published_fires_once_per_delivery(make_app, clock, recorder):
    app = make_app()
    _publish_one(app, clock)
    calls = recorder.named("post_published")
    assert len(calls) == 1
    assert calls[0]["delivery"]["status"] == "published" and calls[0]["delivery"]["account"] == "sandbox"
    # documented, frozen views (docs/plugins.md, "Event payloads"), not table rows
    post, delivery = calls[0]["post"], calls[0]["delivery"]
    assert isinstance(post, PostView) and isinstance(delivery, DeliveryView)
    assert set(delivery) == set(DeliveryView.FIELDS) and delivery.remote_id and "claimed_by" not in delivery


def test_hook_post_failed_carries_the_networks_reason(make_app, clock, recorder):
    app = make_app()
    app.channel("sandbox").queue_fault("reject")
    _publish_one(app, clock)
    calls = recorder.named("post_failed")
    assert len(calls) == 1 and "violates the sandbox rules" in calls[0]["reason"]
    assert calls[0]["delivery"]["status"] == "failed"


def test_hook_engagement_ingested_and_task_created_fire_after_commit(make_app, clock, recorder):
    from socialsell.loop.polling import poll_account

    app = make_app()
    _quiet(app)
    post_id = _publish_one(app, clock)
    _engage(app, post_id, "@pat", "comment", "How do I try this?")
    _engage(app, post_id, "@lee", "like")
    poll_account(app, "sandbox", "w1", clock.now)
    poll_account(app, "sandbox", "w1", clock.now)  # nothing new: no second call
    assert sorted(c["engagement"]["kind"] for c in recorder.named("engagement_ingested")) == ["comment", "like"]
    created = recorder.named("task_created")
    assert len(created) == 1 and created[0]["contact"]["display_name"] == "pat"
    assert isinstance(created[0]["task"], TaskView) and isinstance(created[0]["contact"], ContactView)
    assert all(isinstance(c["engagement"], EngagementView) for c in recorder.named("engagement_ingested"))


def test_hook_task_created_not_fired_for_a_lone_like(make_app, clock, recorder):
    from socialsell.loop.polling import poll_account

    app = make_app()
    _quiet(app)
    post_id = _publish_one(app, clock)
    _engage(app, post_id, "@lee", "like")
    poll_account(app, "sandbox", "w1", clock.now)
    assert recorder.named("task_created") == []


def test_hook_task_closed_reports_outcome_and_amount(make_app, clock, recorder):
    from socialsell.loop.polling import poll_account
    from socialsell.sales.tasks import close_task, list_tasks

    app = make_app()
    _quiet(app)
    post_id = _publish_one(app, clock)
    _engage(app, post_id, "@pat", "comment", "Pricing for 10 seats?")
    poll_account(app, "sandbox", "w1", clock.now)
    task = list_tasks(app, all_owners=True)[0]
    app.actor = task["owner"]
    close_task(app, task["id"], "won", 1200.0)
    (call,) = recorder.named("task_closed")
    assert (call["outcome"], call["amount"], call["task"]["id"]) == ("won", 1200.0, task["id"])


def test_hook_sla_breached_fires_once_per_level(make_app, clock, recorder):
    from socialsell.loop.polling import poll_account
    from socialsell.sales.sla import check_sla

    app = make_app()
    _quiet(app)
    post_id = _publish_one(app, clock)
    _engage(app, post_id, "@pat", "comment", "Do you have a demo?")
    poll_account(app, "sandbox", "w1", clock.now)
    clock.advance(hours=3)
    check_sla(app, clock.now)
    check_sla(app, clock.now)
    assert [c["level"] for c in recorder.named("sla_breached")] == ["overdue"]
    clock.advance(days=3)
    check_sla(app, clock.now)
    check_sla(app, clock.now)
    assert [c["level"] for c in recorder.named("sla_breached")] == ["overdue", "escalated"]


def test_hook_account_paused_when_credentials_fail(make_app, clock, recorder):
    app = make_app()
    app.channel("sandbox").queue_fault("auth")
    _publish_one(app, clock)
    assert recorder.named("account_paused") == [{"account": "sandbox", "reason": "sandbox: token revoked"}]


def test_channel_defaults_refuse_clearly(workspace):
    from socialsell.workspace import load_workspace

    class Minimal(Channel):
        name = "minimal"

        def publish(self, text, *, media=()):
            return Published(remote_id="1")

    ch = Minimal(load_workspace(str(workspace)).accounts["sandbox"])
    assert ch.fetch_engagements(None, []) == ([], None)
    e = Engagement(external_id="1", kind="like", person=Person(handle="@a"), occurred_at=None, url="https://x")
    from socialsell.plugins.channel import Rejected, ReplyNotAllowed

    with pytest.raises(ReplyNotAllowed) as info:
        ch.reply(e, "hi")
    assert info.value.url == "https://x"
    with pytest.raises(Rejected):
        ch.find_recent_posts(None)
    assert ch.validate("x" * 3001) and ch.validate("   ")


def test_hook_register_report_sections_adds_a_section(workspace, clock):
    from click.testing import CliRunner

    from socialsell.cli import build_cli

    folder = workspace.parent / "plugs"
    folder.mkdir()
    (folder / "nps.py").write_text(
        "from socialsell import hookimpl\n"
        "from socialsell.api import Section, Table, row\n"
        "def compute(app, scope):\n"
        "    return Section('nps', 'Net promoter score', [Table('score', 'NPS by survey', ['survey', 'score', 'days'],\n"
        "        [row('nps', 'score', 'q4', survey='q4', score=41, days=round(scope.days))])])\n"
        "@hookimpl\ndef register_report_sections(register):\n    register('nps', compute)\n"
    )
    base = ["--plugins-dir", str(folder), "--config", str(workspace), "report", "--since", "2026-11-16", "--until", "2026-11-22"]
    out = CliRunner().invoke(build_cli(str(folder), clock=clock), [*base, "--section", "nps", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)[1] == {"id": "nps.score.q4", "section": "nps", "table": "score", "survey": "q4",
                                         "score": 41, "days": 7}
    everything = CliRunner().invoke(build_cli(str(folder), clock=clock), base)
    assert "NET PROMOTER SCORE" in everything.output and "THE SLA" in everything.output
    without = CliRunner().invoke(build_cli(clock=clock), [*base[2:], "--section", "nps"])
    assert without.exit_code == 2 and "unknown --section 'nps'" in without.output


# --- a plugin failing in an event hook --------------------------------------------------------


def test_a_plugin_raising_in_an_event_hook_is_named_in_the_log_and_the_loop_goes_on(pm, make_app, clock, recorder,
                                                                                     caplog):
    import logging

    from socialsell.loop.worker import Worker, run_once
    from socialsell.marketing.posts import create_post

    class Broken:
        @hookimpl
        def post_published(self, post, delivery):
            raise RuntimeError("webhook down")

    pm.register(Broken(), name="broken")
    try:
        app = make_app()
        app.channel("sandbox").audience = False
        for text in ("First post", "Second post"):
            create_post(app, accounts=["sandbox"], text=text, at=clock.now + timedelta(minutes=1))
        clock.advance(minutes=2)
        worker = Worker(app, id="w1")
        with caplog.at_level(logging.ERROR, logger="socialsell"):
            results = run_once(app, worker, clock.now)
    finally:
        pm.unregister(name="broken")
    assert len(results["publish"].published) == 2  # the first failure stopped neither the batch...
    assert len(recorder.named("post_published")) == 2  # ...nor the plugin listening beside it
    failures = [r.getMessage() for r in caplog.records if getattr(r, "event", None) == "plugin.failed"]
    assert failures == ["plugin broken: post_published failed (RuntimeError: webhook down); "
                        "the other plugins and the loop go on"] * 2
    snapshot = worker.snapshot()
    assert all(snapshot[job]["last_error"] is None for job in ("publish", "poll:sandbox", "sla", "metrics"))


def test_trace_plugins_shows_each_event_call_per_plugin(pm, make_app, clock, recorder, monkeypatch, capsys):
    from socialsell.plugins import trace

    monkeypatch.setenv("SOCIALSELL_TRACE_PLUGINS", "1")
    trace.enable_if_asked(pm)  # the fixture's pm is this test's own
    _publish_one(make_app(), clock)
    err = capsys.readouterr().err
    assert "[plugins] post_published(post=PostView(" in err and "-> recorder" in err
    assert "[plugins] post_published returned []" in err
