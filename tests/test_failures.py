"""Failures are never silent: ``run --once`` exits 1 with one line per failure, ``status`` says a
failure in one line and lists finished workers briefly, and a post held by a paused or
never-connected account is flagged at ``post new``, in ``queue``, ``post list`` and ``run --once``."""

from __future__ import annotations

import json
import re

from socialsell.loop.worker import build_jobs

FAILING_JOB = '''
from socialsell import hookimpl


@hookimpl
def register_jobs(register):
    def boom(ctx):
        raise RuntimeError("crm down\\nsecond line")

    register("crm-sync", boom, seconds=600)
'''
LONG_REASON = "sandbox refused the credentials: " + " ".join(f"detail{i}" for i in range(60))


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(("Error:", "Warning:"))]


def quiet(workspace) -> None:
    text = workspace.read_text()
    workspace.write_text(text.replace('poll_interval = "1m"\n', 'poll_interval = "1m"\naudience = false\n', 1))


def test_run_once_exits_1_with_one_line_per_failure(workspace, cli, make_app, tmp_path):
    quiet(workspace)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "failing.py").write_text(FAILING_JOB)
    app = make_app()
    assert cli("post", "new", "--channel", "sandbox", "--text", "due now", "--at", "now").exit_code == 0
    app.channel("sandbox").queue_fault("auth")

    result = cli("--plugins-dir", str(plugins), "run", "--once")
    assert result.exit_code == 1, result.output
    assert "published 0, failed 0, deferred 1, unknown 0, missed 0" in result.stdout
    assert errors(result) == [
        "Error: job crm-sync failed: RuntimeError: crm down",
        "Error: account sandbox paused: sandbox: token revoked; due post 1 wait "
                         "(once fixed: socialsell channels resume sandbox)",
    ]
    again = cli("run", "--once")  # the post is not even claimed now: still said, still exit 1
    assert again.exit_code == 1
    assert errors(again) == ["Error: account sandbox paused: sandbox: token revoked; due post 1 wait "
                         "(once fixed: socialsell channels resume sandbox)"]


def test_run_once_with_a_failed_post_names_it(workspace, cli, make_app):
    quiet(workspace)
    app = make_app()
    cli("post", "new", "--channel", "sandbox", "--text", "refused", "--at", "now")
    app.channel("sandbox").queue_fault("reject")
    result = cli("run", "--once")
    assert result.exit_code == 1
    (line,) = errors(result)
    assert line.startswith("Error: post 1 on sandbox failed: ")


def test_a_clean_pass_exits_0_and_says_nothing_on_stderr_but_logs(workspace, cli):
    quiet(workspace)
    result = cli("run", "--once")
    assert result.exit_code == 0, result.output
    assert errors(result) == []


def test_status_says_a_long_failure_in_one_line_and_finished_workers_briefly(workspace, cli, make_app):
    quiet(workspace)
    app = make_app()
    for _ in range(7):
        cli("run", "--once")
    app.account_ids()
    with app.db.write() as conn:
        app.pause_account(conn, "sandbox", LONG_REASON)

    out = cli("status", env={"COLUMNS": "100"}).stdout
    (row,) = [line for line in out.splitlines() if "sandbox" in line and "sqlite" not in line]
    assert "paused" in row and "sandbox refused the credentials" in row and row.endswith("…") and len(row) <= 100
    assert "detail59" not in out  # the rest is in --json, not folded over 15 lines
    finished = [line for line in out.splitlines() if line.startswith("finished ")]
    jobs = len(build_jobs(app))
    assert len(finished) == 5 and all(re.fullmatch(rf"finished \S+ at .+: {jobs} jobs ran", f) for f in finished)
    assert "... and 2 more finished workers (socialsell status --json)" in out
    assert " publish " not in out  # no row per job of a finished worker
    (info,) = json.loads(cli("status", "--json").stdout)
    assert info["accounts"][0]["paused_reason"] == LONG_REASON


def test_a_post_to_a_paused_account_is_flagged_everywhere(workspace, cli, make_app, clock):
    quiet(workspace)
    app = make_app()
    app.account_ids()
    with app.db.write() as conn:
        app.pause_account(conn, "sandbox", "sandbox: token revoked")

    new = cli("post", "new", "--channel", "sandbox", "--text", "Hello", "--at", "+1h")
    assert new.exit_code == 0, new.output
    assert errors(new) == ["Warning: post 1 will not go out on sandbox until this is fixed: "
                           "account paused: sandbox: token revoked"]
    assert new.stdout.startswith("post 1 on sandbox: scheduled")

    listing = cli("post", "list", env={"COLUMNS": "200"}).stdout
    assert "account paused: sandbox: token revoked" in listing
    (post,) = json.loads(cli("post", "list", "--json").stdout)
    assert post["deliveries"][0]["account_paused"] == "sandbox: token revoked"
    assert "(account paused: sandbox: token revoked)" in cli("queue").stdout
    (row,) = json.loads(cli("queue", "--json").stdout)
    assert row["account_paused"] == "sandbox: token revoked"
    assert "account paused: sandbox: token revoked" in cli("post", "show", "1").stdout

    clock.advance(hours=2)
    run = cli("run", "--once")
    assert run.exit_code == 1
    assert errors(run) == ["Error: account sandbox paused: sandbox: token revoked; due post 1 wait "
                           "(once fixed: socialsell channels resume sandbox)"]

    resumed = cli("channels", "resume", "sandbox")
    assert resumed.exit_code == 0 and resumed.stdout == "sandbox: resumed; its waiting posts go out at the next pass\n"
    assert cli("channels", "resume", "sandbox").stdout == "sandbox: not paused\n"
    (post,) = json.loads(cli("post", "list", "--json").stdout)
    assert post["deliveries"][0]["account_paused"] is None
    again = cli("run", "--once")
    assert again.exit_code == 0, again.output
    assert "published 1," in again.stdout


def test_a_published_post_is_not_flagged_by_a_later_pause(workspace, cli, make_app, clock):
    quiet(workspace)
    app = make_app()
    cli("post", "new", "--channel", "sandbox", "--text", "Hello", "--at", "now")
    assert cli("run", "--once").exit_code == 0
    with app.db.write() as conn:
        app.pause_account(conn, "sandbox", "sandbox: token revoked")
    (post,) = json.loads(cli("post", "list", "--json").stdout)
    assert post["deliveries"][0]["status"] == "published" and post["deliveries"][0]["account_paused"] is None


def test_a_post_to_a_never_connected_account_is_flagged_at_post_new(workspace, cli, monkeypatch):
    monkeypatch.setenv("FLAG_X_CLIENT_ID", "client-id-1234")
    workspace.write_text(workspace.read_text() + '\n[[accounts]]\nname = "acme-x"\nchannel = "x"\n'
                         'client_id = {env = "FLAG_X_CLIENT_ID"}\n')
    new = cli("post", "new", "--channel", "acme-x", "--channel", "sandbox", "--text", "Hello", "--at", "+1h")
    assert new.exit_code == 0, new.output
    assert errors(new) == ["Warning: post 1 will not go out on acme-x until this is fixed: "
                           "X account 'acme-x' is not connected: run `socialsell channels connect acme-x`"]
    resume = cli("channels", "resume", "acme-x")  # nothing to resume with: said, nothing changed
    assert resume.exit_code == 2
    assert resume.stderr == ("Error: acme-x cannot send yet: X account 'acme-x' is not connected: "
                             "run `socialsell channels connect acme-x`\n")


def test_post_new_with_a_token_file_others_can_read_warns_with_the_fix(workspace, cli, monkeypatch):
    from socialsell.credentials import save_tokens, token_file

    monkeypatch.setenv("FLAG_X_CLIENT_ID", "client-id-1234")
    workspace.write_text(workspace.read_text() + '\n[[accounts]]\nname = "acme-x"\nchannel = "x"\n'
                         'client_id = {env = "FLAG_X_CLIENT_ID"}\n')
    save_tokens(workspace.parent / ".socialsell", "acme-x", {"access_token": "access-token-5678"})
    path = token_file(workspace.parent / ".socialsell", "acme-x")
    path.chmod(0o640)
    new = cli("post", "new", "--channel", "acme-x", "--text", "Hello", "--at", "+1h")
    assert new.exit_code == 0, new.output  # the post is kept; the warning says how to unblock it
    assert errors(new) == [f"Warning: post 1 will not go out on acme-x until this is fixed: {path} holds a secret "
                           f"but its group or others can read it (mode 0640): run `chmod 600 {path}`"]
