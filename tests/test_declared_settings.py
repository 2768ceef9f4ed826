"""Settings plugins declare: a plugin's own section (register_settings) and a channel's account
keys (Channel.settings), checked like the core's keys (docs/plugins.md, "Settings")."""

from __future__ import annotations

import textwrap

import pytest

from socialsell.api import Setting
from socialsell.errors import ConfigError
from socialsell.settings import check_declared

SHOUT = textwrap.dedent('''
    import click
    from socialsell.api import Setting, hookimpl, pass_app

    @hookimpl
    def register_settings(register):
        register("shout", [
            Setting("volume", type=int, required=True, low=1, high=11),
            Setting("token", secret=True),
            Setting("tone", default="polite"),
            Setting("every", type="duration", default=600),
        ])

    @hookimpl
    def register_commands(cli):
        @cli.command()
        @pass_app
        def shout(app):
            s = app.plugin_settings("shout")
            click.echo(f"{s['volume']} {s['tone']} {s['every']} {s.setting('token')}")
''')


@pytest.fixture
def shout(workspace, monkeypatch):
    folder = workspace.parent / "plugs"
    folder.mkdir()
    (folder / "shout.py").write_text(SHOUT)
    monkeypatch.setenv("SOCIALSELL_PLUGINS_DIR", str(folder))
    monkeypatch.setenv("SHOUT_TOKEN", "s3cr3t-shout")

    def configure(section: str) -> None:
        workspace.write_text(workspace.read_text() + f"\n[shout]\n{section}\n")

    return configure


def test_hook_register_settings_declares_a_section_read_typed_with_defaults(shout, cli):
    shout('volume = 11\ntoken = {env = "SHOUT_TOKEN"}\nevery = "5m"')
    out = cli("shout")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[-1] == "11 polite 300 s3cr3t-shout"


@pytest.mark.parametrize(("section", "expected"), [
    ("volum = 3", "[shout] volum: unknown key (did you mean volume?); expected one of: volume, token, tone, every"),
    ('tone = "loud"', "[shout] volume: expected a whole number from 1 to 11 (required)"),
    ("volume = 12", "[shout] volume: expected a whole number from 1 to 11, got 12"),
    ('volume = 3\nevery = "soon"', "[shout] every: expected a duration like 300"),
    ('volume = 3\ntoken = "raw-secret-value"', "[shout] token: expected a reference, not the secret itself"),
])
def test_a_bad_plugin_section_is_one_line_naming_file_section_and_key(shout, cli, section, expected):
    shout(section)
    for args in (["shout"], ["run", "--once"]):  # run: before any job
        out = cli(*args)
        assert out.exit_code == 2 and out.output.count("\n") == 1, out.output
        assert out.output.startswith("Error: ws/socialsell.toml: ") and expected in out.output, out.output
        assert "raw-secret-value" not in out.output


def test_a_section_no_installed_plugin_declares_is_refused_at_load_with_a_did_you_mean(shout, cli, workspace):
    shout("volume = 3")
    assert cli("tasks").exit_code == 0  # the plugin's own section loads
    workspace.write_text(workspace.read_text() + "\n[shuot]\nvolume = 3\n")
    out = cli("tasks")  # a read command: no plugin loads, the section's name alone is checked
    assert out.exit_code == 2 and "[shuot]: unknown section (did you mean shout?)" in out.output, out.output


def test_a_plugin_installed_but_not_loaded_keeps_its_section_unchecked(shout, cli, monkeypatch):
    shout("volum = 3")  # a typo the plugin would refuse...
    monkeypatch.setenv("SOCIALSELL_BLOCK_PLUGINS", "shout")
    out = cli("run", "--once")  # ...but it is blocked: its section is nobody's business now
    assert "shout" not in out.output, out.output


# --- channels ----------------------------------------------------------------------------


@pytest.mark.parametrize(("keys", "expected"), [
    ("sed = 7", "[[accounts]] sandbox sed: unknown key (did you mean seed?)"),
    ('latency = "slow"', "[[accounts]] sandbox latency: expected a number from 0 to 60, got 'slow'"),
])
def test_an_account_key_its_channel_does_not_declare_is_refused(workspace, cli, keys, expected):
    text = workspace.read_text().replace('channel = "sandbox"\n', f'channel = "sandbox"\n{keys}\n', 1)
    workspace.write_text(text)
    for args in (["channels", "check", "sandbox"], ["run", "--once"],
                 ["post", "new", "--channel", "sandbox", "--text", "hi", "--queue"]):
        out = cli(*args)
        assert out.exit_code == 2 and out.output.count("\n") == 1, (args, out.output)
        assert expected in out.output, out.output


def test_the_account_keys_are_checked_when_the_channels_load_even_after_the_plugins(workspace, cli, make_app):
    """The accounts' keys are checked when the channel types register (their first use), not
    when the plugins load: ``report`` loads the plugins for their report sections but builds no
    channel, so it reads the database whatever an account's keys; a command that then builds a
    channel still gets the one error, before the channel is built."""
    text = workspace.read_text().replace('channel = "sandbox"\n', 'channel = "sandbox"\nsed = 7\n', 1)
    workspace.write_text(text)
    assert cli("report", "--format", "json").exit_code == 0
    app = make_app()
    app.pm  # noqa: B018 - the plugins load (their sections are checked)...
    with pytest.raises(ConfigError, match=r"\[\[accounts\]\] sandbox sed: unknown key \(did you mean seed\?\)"):
        app.channel("sandbox")  # ...the account's keys when its channel is first built
    with pytest.raises(ConfigError, match="sandbox sed"):
        app.channel_types  # noqa: B018 - and again on a second try: never half-checked


def test_bluesky_declares_its_keys(workspace, cli, monkeypatch):
    monkeypatch.setenv("BSKY_APP_PASSWORD", "xxxx-xxxx-xxxx-xxxx")
    workspace.write_text(workspace.read_text() + '\n[[accounts]]\nname = "acme-bsky"\nchannel = "bluesky"\n'
                         'handle = "acme.bsky.social"\napp_pasword = {env = "BSKY_APP_PASSWORD"}\n')
    out = cli("channels", "check", "acme-bsky")
    assert out.exit_code == 2
    assert "[[accounts]] acme-bsky app_pasword: unknown key (did you mean app_password?)" in out.output


def test_a_channel_that_declares_nothing_takes_any_key(workspace, cli, monkeypatch):
    folder = workspace.parent / "plugs"
    folder.mkdir()
    (folder / "quiet.py").write_text(textwrap.dedent('''
        from socialsell.api import Channel, Published, hookimpl

        class Quiet(Channel):
            name = "quiet"
            def publish(self, text, *, media=()):
                return Published(remote_id="1")

        @hookimpl
        def register_channels(register):
            register("quiet", Quiet)
    '''))
    monkeypatch.setenv("SOCIALSELL_PLUGINS_DIR", str(folder))
    workspace.write_text(workspace.read_text() + '\n[[accounts]]\nname = "q"\nchannel = "quiet"\nanything = 1\n')
    assert cli("channels", "check", "q").exit_code != 2


# --- the declaration itself ------------------------------------------------------------------


def test_a_declaration_with_an_unknown_type_is_refused_when_written():
    with pytest.raises(TypeError, match="not one of"):
        Setting("when", type=dict)
    with pytest.raises(TypeError, match="a secret is a string"):
        Setting("pin", type=int, secret=True)


def test_check_declared_fills_defaults_keeps_references_and_lets_core_keys_by(tmp_path):
    declared = [Setting("a", type=int, default=5), Setting("b", type=(str, list)), Setting("c", type="url")]
    values = check_declared(tmp_path / "socialsell.toml", "[x]", {"b": ["u", "v"], "name": "n", "c": {"env": "C"}},
                            declared, also_allowed=["name"])
    assert values == {"a": 5, "b": ["u", "v"], "name": "n", "c": {"env": "C"}}
    with pytest.raises(ConfigError, match=r"\[x\] c: expected an http\(s\) URL"):
        check_declared(tmp_path / "socialsell.toml", "[x]", {"c": "ftp://h"}, declared)


def test_every_key_a_built_in_plugin_declares_is_documented(pm):
    from pathlib import Path

    from socialsell.plugins.manager import channel_types, declared_sections

    docs = Path(__file__).resolve().parent.parent / "docs"
    configuration = (docs / "configuration.md").read_text()
    for section, declared in declared_sections(pm).items():
        assert f"## `[{section}]`" in configuration, f"[{section}] has no section in docs/configuration.md"
        part = configuration.split(f"## `[{section}]`")[1].split("\n## ")[0]
        assert all(f"`{s.name}`" in part for s in declared), f"[{section}]: a key is not documented"
    for name, cls in channel_types(pm).items():
        page = docs / "channels" / f"{name}.md"
        doc = page.read_text() if page.exists() else configuration
        missing = [s.name for s in cls.settings or () if f"`{s.name}`" not in doc and f"{s.name} =" not in doc]
        assert not missing, f"{name}'s account keys {missing} are not documented in {page.name if page.exists() else 'configuration.md'}"

