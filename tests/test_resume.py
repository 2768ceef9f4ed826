"""A paused account comes back with `channels resume NAME` (or `connect`, for a channel without
a connection step): its credentials are checked with the network first."""

from __future__ import annotations

import json
import textwrap

LOCKED_PLUGIN = textwrap.dedent("""
    from socialsell.api import CheckResult, Published, hookimpl
    from socialsell_sandbox.channel import SandboxChannel


    class LockedChannel(SandboxChannel):
        name = "locked"

        def check(self):
            return CheckResult(ok=False, identity=None, capabilities=self.capabilities(),
                               notes=["the app password was revoked"])


    @hookimpl
    def register_channels(register):
        register("locked", LockedChannel)
""")


def _status(cli, name):
    accounts = json.loads(cli("status", "--json").output)[0]["accounts"]
    return next(a for a in accounts if a["name"] == name)


def _pause_sandbox(cli):
    assert cli("sandbox", "fault", "auth", "--on", "poll").exit_code == 0
    cli("run", "--once")
    assert _status(cli, "sandbox")["status"] == "paused"


def test_resume_checks_and_unpauses_a_channel_without_a_connect_step(cli):
    _pause_sandbox(cli)
    result = cli("channels", "resume", "sandbox")
    assert result.exit_code == 0, result.output
    assert result.stdout == "sandbox: resumed; its waiting posts go out at the next pass\n"
    assert _status(cli, "sandbox")["status"] == "active"
    assert cli("channels", "resume", "sandbox").stdout == "sandbox: not paused\n"


def test_connect_on_a_channel_without_a_connection_step_verifies_and_resumes(cli):
    _pause_sandbox(cli)
    result = cli("channels", "connect", "sandbox")
    assert result.exit_code == 0, result.output
    assert "needs no connection step; checking its credentials" in result.output and "sandbox: resumed" in result.output
    assert _status(cli, "sandbox")["status"] == "active"


def test_resume_of_an_active_account_only_checks(cli):
    result = cli("channels", "resume", "sandbox")
    assert result.exit_code == 0 and result.stdout == "sandbox: not paused\n"


def test_an_account_whose_check_fails_stays_paused(cli, workspace, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "locked.py").write_text(LOCKED_PLUGIN)
    workspace.write_text(workspace.read_text() + '\n[[accounts]]\nname = "vault"\nchannel = "locked"\n')
    result = cli("--plugins-dir", str(plugins), "channels", "resume", "vault")
    assert result.exit_code == 1
    assert result.stderr == ("Error: vault cannot send yet: the app password was revoked "
                             "(fix it, then `socialsell channels resume vault`)\n")


def test_resume_of_an_unknown_account_is_bad_input(cli):
    result = cli("channels", "resume", "nope")
    assert result.exit_code == 2 and result.output.startswith("Error: unknown channel account 'nope'")
