"""Notifications: the SMTP digest against a real local SMTP server, and the webhook example plugin."""

from __future__ import annotations

import importlib.util
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from aiosmtpd.controller import Controller

from socialsell.plugins.channel import Person
from socialsell.sales.notify import send_digests
from socialsell.sales.sla import check_sla

from .test_sales import edit_config, eng, run

ROOT = Path(__file__).resolve().parents[1]


class Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture
def smtp():
    import socket

    with socket.socket() as s:  # a free port (aiosmtpd checks it can connect, so 0 will not do)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def configure(workspace: Path, port: int) -> None:
    text = workspace.read_text()
    workspace.write_text(text + f'''
[notify.email]
host = "127.0.0.1"
port = {port}
from = "socialsell@example.com"
starttls = false
send_at = "08:00"
''')


def test_digest_once_per_rep_per_day_with_two_workers(db_url, workspace, make_app, clock, smtp):
    port, handler = smtp
    configure(workspace, port)
    a, b = make_app(db_url), make_app(db_url)
    run(a, eng("@dana", "comment", "What is your pricing?"))  # alice (Germany)
    run(a, eng("@x", "reply", "hello", person=Person("@uk", "Uk Person", location="London, UK")))  # bob
    clock.advance(hours=1)  # 10:00 in Berlin
    results = []
    threads = [threading.Thread(target=lambda x=x, w=w: results.append(send_digests(x, w, clock.now)))
               for x, w in ((a, "w1"), (b, "w2"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r for res in results for r in res["sent"]) == ["alice", "bob"]
    assert sorted(to for tos, _ in handler.messages for to in tos) == ["alice@example.com", "bob@example.com"]
    alice = next(body for tos, body in handler.messages if tos == ["alice@example.com"])
    assert "Subject: socialsell: 1 new, 0 overdue follow-up for alice" in alice
    assert "Dana Whitfield" in alice and "What is your pricing?" in alice and "socialsell work" in alice
    # later the same day: nothing more; the next day: again (now overdue)
    clock.advance(hours=5)
    assert send_digests(a, "w1", clock.now)["sent"] == []
    clock.advance(days=1)
    assert sorted(send_digests(b, "w2", clock.now)["sent"]) == ["alice", "bob"]
    assert "overdue" in handler.messages[-1][1].lower()
    assert len(handler.messages) == 4


def test_digest_waits_for_send_at_and_skips_empty(workspace, make_app, clock, smtp):
    port, handler = smtp
    configure(workspace, port)
    app = make_app()
    clock.now = clock.now.replace(hour=5)  # 06:00 in Berlin
    assert "skipped" in send_digests(app, "w", clock.now)
    clock.advance(hours=4)
    assert send_digests(app, "w", clock.now)["empty"] == ["alice", "bob"]
    assert handler.messages == []


def test_digest_failure_is_retried_next_run(workspace, make_app, clock, smtp):
    port, handler = smtp
    configure(workspace, port)
    edit_config(workspace, f"port = {port}", "port = 1")  # nothing listens there
    app = make_app()
    run(app, eng("@dana", "comment", "pricing?"))
    clock.advance(hours=2)
    assert "alice" in send_digests(app, "w", clock.now)["failed"]
    edit_config(workspace, "port = 1", f"port = {port}")
    app2 = make_app()
    assert send_digests(app2, "w", clock.now)["sent"] == ["alice"]


def test_password_must_be_a_secret_reference(workspace, make_app, clock):
    from socialsell.errors import ConfigError

    workspace.write_text(workspace.read_text() + '\n[notify.email]\nhost = "h"\nfrom = "f@x"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="SMTP_PASSWORD") as e:  # refused at load, not in the digest job
        make_app()
    assert "hunter2" not in str(e.value)


def test_digest_logs_in_with_the_password_from_the_environment(workspace, make_app, clock, monkeypatch):
    from socialsell.sales import notify

    logins = []

    class FakeSMTP:  # records the login; the real SMTP path is covered above
        def __init__(self, host, port, timeout):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def starttls(self):
            logins.append("starttls")

        def login(self, user, password):
            logins.append((user, password))

        def send_message(self, msg):
            logins.append(msg["To"])

    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    monkeypatch.setattr(notify.smtplib, "SMTP", FakeSMTP)
    workspace.write_text(workspace.read_text() + '\n[notify.email]\nhost = "h"\nfrom = "f@x"\nusername = "u"\n'
                         'password = {env = "SMTP_PASSWORD"}\n')
    app = make_app()
    run(app, eng("@dana", "comment", "pricing?"))
    clock.advance(hours=2)
    assert send_digests(app, "w", clock.now)["sent"] == ["alice"]
    assert logins == ["starttls", ("u", "s3cret"), "alice@example.com"]


def _load_webhook_example():
    spec = importlib.util.spec_from_file_location("webhook_notifier", ROOT / "docs/examples/webhook_notifier.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@responses.activate
def test_webhook_example_posts_slack_json(make_app, pm, clock, monkeypatch):
    url = "https://hooks.example.com/services/T0/B0/secret"
    monkeypatch.setenv("SOCIALSELL_WEBHOOK_URL", url)
    responses.add(responses.POST, url, body="ok")
    plugin = _load_webhook_example()
    pm.register(plugin)
    try:
        app = make_app()
        task = run(app, eng("@dana", "comment", "What is your pricing?")).tasks_created[0]
        clock.now = task["due_at"] + timedelta(minutes=1)
        check_sla(app, clock.now)
    finally:
        pm.unregister(plugin)
    bodies = [json.loads(c.request.body) for c in responses.calls]
    assert bodies[0]["text"].startswith(f"New follow-up #{task['id']} for alice: Dana Whitfield (Northwind)")
    assert "pricing" in bodies[0]["text"]
    assert bodies[1] == {"text": f"Follow-up #{task['id']} (alice) is overdue"}


@responses.activate
def test_webhook_failure_never_breaks_the_caller(monkeypatch, caplog):
    url = "https://hooks.example.com/services/T0/B0/secret"
    monkeypatch.setenv("SOCIALSELL_WEBHOOK_URL", url)
    responses.add(responses.POST, url, status=500)
    plugin = _load_webhook_example()
    plugin.sla_breached(task={"id": 3, "owner": "bob"}, level="escalated")
    assert "HTTP 500" in caplog.text and "secret" not in caplog.text
