"""No secret in any form reaches output, logs or the database (invariant 4, docs/architecture.md).

The canary test points the real X plugin (tweepy, requests, TLS) at a real local HTTPS server
that echoes every request in its error answers: a failed OAuth 2.0 token refresh then carries
``Basic base64(client_id:client_secret)``, the URL-encoded refresh token and a ``Bearer``
access token back to us. None of their forms may appear anywhere a person or a file can see.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, select, text

from socialsell.cli import build_cli
from socialsell.credentials import check_private, save_tokens, token_file
from socialsell.db import schema as t
from socialsell.errors import UsageError
from socialsell.redact import forms, redact, redact_url, remember

from .echo_https import EchoingServer

CLIENT_ID = "canary-client-id-4711"
# characters that URL-encoding, JSON and base64 all change, so every form differs from the raw one
CANARY = {
    "client_secret": "CANARY/cl1ent+secret~=zq8",
    "access_token": "CANARY-access/t0ken+Zm9v~xy",
    "refresh_token": "CANARY-refresh/t0ken+YmFy~wv",
}
X_OAUTH2 = """
[[accounts]]
name = "acme-x"
channel = "x"
handle = "@acme"
user_id = "100"
client_id = {env = "CANARY_X_CLIENT_ID"}
client_secret = {env = "CANARY_X_CLIENT_SECRET"}
"""


def every_form(secret: str) -> list[str]:
    """What a leak looks like: raw, URL-encoded, JSON-escaped, base64 alone and as Basic auth."""
    basic = f"{CLIENT_ID}:{secret}".encode()
    return [
        secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/"),
        base64.b64encode(secret.encode()).decode(), base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
        base64.b64encode(basic).decode(), base64.urlsafe_b64encode(basic).decode().rstrip("="),
    ]


FORMS = {f"{name} as {form!r}": form for name, secret in CANARY.items() for form in every_form(secret)}


def leaks(text: str) -> list[str]:
    return [name for name, form in FORMS.items() if form in text]


def configure(config: Path, extra: str) -> None:
    body = re.sub(r'\[\[accounts\]\]\nname = "sandbox"\n(?:[^\n]+\n)+', "", config.read_text())
    config.write_text(body + extra)


def database_text(url: str) -> str:
    """Every row of every table, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return "\n".join(str(row) for table in inspect(conn).get_table_names()
                             for row in conn.execute(text(f'SELECT * FROM "{table}"')))
    finally:
        engine.dispose()


@pytest.fixture
def echo_server(tmp_path, monkeypatch):
    with EchoingServer(tmp_path / "tls") as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        yield server


@pytest.fixture
def canary_workspace(workspace, monkeypatch):
    """An X account on OAuth 2.0 whose stored access token has expired (a refresh is due)."""
    monkeypatch.setenv("CANARY_X_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CANARY_X_CLIENT_SECRET", CANARY["client_secret"])
    configure(workspace, X_OAUTH2)
    save_tokens(workspace.parent / ".socialsell", "acme-x", {
        "access_token": CANARY["access_token"], "refresh_token": CANARY["refresh_token"], "token_type": "bearer",
        "scope": "tweet.read tweet.write users.read like.read offline.access", "expires_at": 1000})
    return workspace


def assert_refresh_echoed_the_canary(server: EchoingServer) -> None:
    """The test can fail: the server really got, and really echoed, the secrets."""
    refreshes = [r for r in server.requests if r["path"] == "/2/oauth2/token"]
    assert refreshes and refreshes[0]["host"] == "api.x.com"
    basic = base64.b64encode(f"{CLIENT_ID}:{CANARY['client_secret']}".encode()).decode()
    assert refreshes[0]["headers"]["Authorization"] == f"Basic {basic}"
    assert quote_plus(CANARY["refresh_token"]) in refreshes[0]["body"]
    assert any(basic in answer for answer in server.answers)


def test_a_failed_refresh_echoing_the_secrets_leaks_no_form_of_them_anywhere(canary_workspace, echo_server, cli, clock):
    posted = cli("post", "new", "--channel", "acme-x", "--text", "Our plan for 2027", "--at", "+1m")
    assert posted.exit_code == 0, posted.output
    clock.advance(minutes=2)

    outputs = {}
    check = cli("channels", "check", "acme-x")
    outputs["channels check"] = check.stdout + check.stderr
    assert check.exit_code == 1 and "NOT OK" in check.stdout, check.output
    assert "X refused the token request" in check.stdout and "***" in check.stdout
    assert_refresh_echoed_the_canary(echo_server)

    run = cli("run", "--once")
    outputs["run --once"] = run.stdout + run.stderr  # stderr is the log
    assert run.exit_code == 1, run.output
    for args in (("status",), ("status", "--json"), ("post", "list"), ("post", "list", "--json"),
                 ("post", "list", "--csv"), ("queue",), ("post", "show", "1"), ("channels", "check", "acme-x")):
        result = cli(*args)
        outputs[" ".join(args)] = result.stdout + result.stderr

    (info,) = json.loads(cli("status", "--json").stdout)
    (x,) = [a for a in info["accounts"] if a["name"] == "acme-x"]
    assert x["status"] == "paused" and x["paused_reason"].startswith("X refused the token request")
    assert "***" in x["paused_reason"]
    (post,) = json.loads(cli("post", "list", "--json").stdout)
    assert post["deliveries"][0]["error"].startswith("paused: X refused the token request")

    for where, out in outputs.items():
        assert leaks(out) == [], f"{where} shows {leaks(out)}:\n{out}"
    stored = database_text(f"sqlite:///{canary_workspace.parent / 'socialsell.db'}")
    assert "X refused the token request" in stored
    assert leaks(stored) == []


def test_the_log_file_of_a_real_run_process_carries_no_form_of_the_secrets(canary_workspace, echo_server, tmp_path):
    # A poll (it runs on the real clock, unlike a due post) hits the expired token, refreshes
    # against the echoing server, fails, and pauses the account; the log goes to a file.
    log = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALSELL_") or k == "SOCIALSELL_NO_KEYRING"}
    with log.open("w") as err:
        done = subprocess.run([sys.executable, "-m", "socialsell", "--config", str(canary_workspace), "run", "--once",
                               "--log-json", "-v"], stdout=subprocess.PIPE, stderr=err, text=True, env=env, timeout=120)
    logged = log.read_text()
    assert_refresh_echoed_the_canary(echo_server)
    assert done.returncode == 1, (done.stdout, logged)
    assert "X refused the token request" in logged + done.stdout
    assert leaks(logged) == [] and leaks(done.stdout) == []
    assert leaks(database_text(f"sqlite:///{canary_workspace.parent / 'socialsell.db'}")) == []


# --- the redaction function -------------------------------------------------------------------


def test_redact_masks_every_derived_form_of_a_known_secret():
    secret = "s3cret/with+odd~chars=9"
    remember(secret)
    for prefix in ("", "i", "id", "client-id:", "a:"):  # base64 of a longer value, at every alignment
        encoded = base64.b64encode(f"{prefix}{secret}".encode()).decode()
        assert secret not in redact(f"Authorization: Basic {encoded}")
        assert encoded not in redact(f"got {encoded} back")
    for form in every_form(secret)[:4]:
        assert redact(f"body: x={form}&y=1") == "body: x=***&y=1"


SECRET_CHARS = st.characters(min_codepoint=33, max_codepoint=126)


@settings(max_examples=300, deadline=None)
@given(secret=st.text(SECRET_CHARS, min_size=12, max_size=60), prefix=st.text(SECRET_CHARS, max_size=20),
       suffix=st.text(SECRET_CHARS, max_size=20))
def test_no_derived_form_of_a_secret_survives_redaction(secret, prefix, suffix):
    """Raw, URL-encoded, JSON-escaped and base64 (standard or URL-safe, alone or inside a longer
    value such as ``id:secret``, at any alignment): none is left whole after redact."""
    inside = f"{prefix}{secret}{suffix}".encode()
    leaked = [secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/"),
              base64.b64encode(secret.encode()).decode(), base64.b64encode(inside).decode(),
              base64.urlsafe_b64encode(inside).decode()]
    text = " | ".join(f"Authorization: Basic {form}, x={form}" for form in leaked)
    out = redact(text, [secret])
    assert secret not in out
    for form in leaked:  # the encodings of prefix + secret + suffix keep at most a few edge characters
        assert form not in out


def test_redact_masks_credentials_by_shape_but_not_the_syntax_around_them():
    assert redact('access_token = {env = "LINKEDIN_TOKEN"}') == 'access_token = {env = "LINKEDIN_TOKEN"}'
    assert redact("Authorization: Bearer abcdefgh12345678") == "Authorization: Bearer ***"
    assert redact("Authorization: Basic dXNlcjpwYXNzd29yZA==") == "Authorization: Basic ***"
    assert redact('{"client_secret": "abc123def456"}') == '{"client_secret": "***"}'
    assert redact("password=hunter22&user=bob") == "password=***&user=bob"
    assert redact({"a": ["token=abcd1234"], "n": 3}) == {"a": ["token=***"], "n": 3}
    assert redact("accounts.x1.access_token: a reference") == "accounts.x1.access_token: a reference"
    assert redact("nothing secret here: 12 posts") == "nothing secret here: 12 posts"


def test_redact_url_hides_only_the_password():
    assert redact_url("postgresql+psycopg://sales:pa%2Fss@db.internal:5432/crm") == "postgresql+psycopg://sales:***@db.internal:5432/crm"
    assert redact_url("sqlite:////srv/ws/socialsell.db") == "sqlite:////srv/ws/socialsell.db"


def test_forms_are_never_shorter_than_the_minimum():
    assert all(len(f) >= 6 for f in forms("abcdefgh"))


def test_a_secret_given_once_is_masked_in_stored_errors_and_events(app, clock):
    remember("st0red-secret-value")
    app.account_ids()
    with app.db.write() as conn:
        app.pause_account(conn, "sandbox", "refused: st0red-secret-value and Bearer zzzzzzzzzzzz")
    with app.db.read() as conn:
        reason = conn.execute(select(t.accounts.c.paused_reason).where(t.accounts.c.name == "sandbox")).scalar()
        detail = conn.execute(select(t.events.c.detail).where(t.events.c.kind == "account.paused")).scalar()
    assert reason == "refused: *** and Bearer ***"
    assert detail == {"reason": "refused: *** and Bearer ***"}


# --- files that hold secrets --------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_the_config_the_database_and_token_files_private(tmp_path, cli):
    folder = tmp_path / "fresh"
    result = CliRunner().invoke(build_cli(), ["init", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert mode(folder) == 0o700
    assert mode(folder / "socialsell.toml") == 0o600
    assert mode(folder / "socialsell.db") == 0o600
    save_tokens(folder / ".socialsell", "acme-x", {"access_token": "a-token-value-123"})
    assert mode(folder / ".socialsell") == 0o700
    assert mode(folder / ".socialsell" / "tokens") == 0o700
    assert mode(token_file(folder / ".socialsell", "acme-x")) == 0o600


def test_a_token_file_others_can_read_is_refused_with_the_fix(canary_workspace, cli):
    path = token_file(canary_workspace.parent / ".socialsell", "acme-x")
    os.chmod(path, 0o644)
    result = cli("channels", "check", "acme-x")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path} holds a secret but its group or others can read it "
                             f"(mode 0644): run `chmod 600 {path}`\n")
    os.chmod(path, 0o600)
    check_private(path)


def test_a_file_secret_others_can_read_is_refused_with_the_fix(workspace, cli, monkeypatch):
    secret = workspace.parent / "x-secret.txt"
    secret.write_text("file-held-secret-value\n")
    os.chmod(secret, 0o640)
    configure(workspace, X_OAUTH2.replace('{env = "CANARY_X_CLIENT_SECRET"}', '{file = "x-secret.txt"}'))
    monkeypatch.setenv("CANARY_X_CLIENT_ID", CLIENT_ID)
    save_tokens(workspace.parent / ".socialsell", "acme-x", {"access_token": "an-access-token-42"})
    result = cli("channels", "check", "acme-x")
    assert result.exit_code == 2, result.output
    assert f"run `chmod 600 {secret}`" in result.stderr and len(result.stderr.splitlines()) == 1
    with pytest.raises(UsageError):
        check_private(secret)


def test_tokens_are_never_written_group_readable_even_over_an_old_temp_file(tmp_path):
    state = tmp_path / "state"
    save_tokens(state, "a", {"access_token": "first-token-value"})
    leftover = token_file(state, "a").with_name("a.json.tmp")
    leftover.write_text("{}")
    os.chmod(leftover, 0o644)
    save_tokens(state, "a", {"access_token": "second-token-value"})
    assert mode(token_file(state, "a")) == 0o600


def test_editing_the_slots_keeps_the_config_private(workspace, cli):
    assert mode(workspace) == 0o600
    assert cli("slots", "--channel", "sandbox", "--set", "mon-fri 10:00").exit_code == 0
    assert mode(workspace) == 0o600


def test_log_lines_mask_secret_values_and_keep_config_syntax():
    import logging

    from socialsell.logs import JsonFormatter, LineFormatter

    remember("logged-secret-value-77")
    record = logging.LogRecord("socialsell", logging.WARNING, __file__, 1,
                               'bad config line access_token = {env = "LINKEDIN_TOKEN"}; sent %s', ("logged-secret-value-77",), None)
    record.detail = {"reason": "Authorization: Basic " + base64.b64encode(b"id:logged-secret-value-77").decode()}
    line = LineFormatter().format(record)
    assert 'access_token = {env = "LINKEDIN_TOKEN"}; sent ***' in line
    assert "logged-secret-value-77" not in line and "Basic ***" in line
    data = json.loads(JsonFormatter().format(record))
    assert data["msg"].endswith("sent ***") and data["detail"] == {"reason": "Authorization: Basic ***"}


def test_a_linkedin_token_file_others_can_read_is_refused_with_the_fix(workspace, cli):
    workspace.write_text(workspace.read_text() + '\n[[accounts]]\nname = "acme-page"\nchannel = "linkedin"\n'
                         'author = "urn:li:organization:12345"\n')
    save_tokens(workspace.parent / ".socialsell", "acme-page", {"access_token": "li-access-token-31337"})
    path = token_file(workspace.parent / ".socialsell", "acme-page")
    path.chmod(0o604)
    result = cli("channels", "check", "acme-page")
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"Error: {path} holds a secret but its group or others can read it "
                             f"(mode 0604): run `chmod 600 {path}`\n")


def test_a_job_error_quoting_a_secret_is_stored_and_shown_masked(app, cli, clock):
    from socialsell.loop.worker import Job, Worker, run_job

    remember("job-error-secret-2468")

    def leaky(ctx):
        raise RuntimeError("crm said: bad key job-error-secret-2468, Authorization: Bearer abcdefgh12345")

    worker = Worker(app, id="host:1:w1")
    run_job(worker, Job("crm-sync", leaky, 600), clock.now)
    worker.heartbeat(clock.now, stopped=False)
    with app.db.read() as conn:
        jobs = conn.execute(select(t.workers.c.jobs)).scalar()
    assert jobs["crm-sync"]["last_error"] == "RuntimeError: crm said: bad key ***, Authorization: Bearer ***"
    shown = cli("status", "--json").stdout + cli("status", env={"COLUMNS": "250"}).stdout
    assert "crm said: bad key ***" in shown and "job-error-secret-2468" not in shown and "abcdefgh12345" not in shown
