"""The ``socialsell`` command line.

The CLI is built by :func:`build_cli` (never at import time), so tests get a fresh one with
their own plugin manager. Errors are one line on stderr: exit status 2 for bad input, 1 for
a failure at run time. A traceback is a bug (set ``SOCIALSELL_DEBUG=1`` to see one).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from socialsell import __version__
from socialsell.cli.common import State, fail, one_line, quiet_broken_pipe
from socialsell.cli.inputs import usage_error_line
from socialsell.clock import frozen
from socialsell.errors import SocialsellError

if TYPE_CHECKING:  # pragma: no cover
    import pluggy


#: built-in command -> the module under socialsell.cli whose ``register(cli)`` adds it
BUILTIN_COMMANDS = {
    "init": "ops", "demo": "ops", "run": "ops", "status": "ops", "plugins": "ops", "channels": "ops",
    "post": "marketing", "queue": "marketing", "slots": "marketing", "templates": "marketing",
    "campaign": "campaigns", "import": "campaigns",
    "tasks": "lists", "task": "sales", "contacts": "lists", "contact": "sales",
    "work": "work", "plugin": "scaffold", "deal": "deals", "log": "audit", "report": "reports",
    "share": "advocacy", "team": "advocacy",
    "signals": "listening", "signal": "listening", "listen": "listening",
}  # fmt: skip


def hoist_as(args: list[str]) -> list[str]:
    """Move ``--as NAME`` / ``--as=NAME`` given after the subcommand in front of it."""
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    for i in range(1, end):
        if args[i] == "--as" and i + 1 < end:
            return ["--as", args[i + 1], *args[:i], *args[i + 2:]]
        if args[i].startswith("--as="):
            return [args[i], *args[:i], *args[i + 1:]]
    return args


class SocialsellCLI(click.Group):
    """The root group. A command's module is imported when that command runs, and plugins
    are loaded only when needed (a command name that is not built in, ``--help``, or an App
    that calls a hook), so ``socialsell tasks`` pays for neither the marketing commands nor
    entry-point discovery."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.plugins_dir: str | None = None
        #: what the App reads the time from (None: the real clock); tests pass their test clock
        self.clock: Callable[[], datetime] | None = None
        self.loaded_pm: pluggy.PluginManager | None = None
        self._modules: set[str] = set()

    def load_module(self, name: str) -> None:
        if name not in self._modules:
            self._modules.add(name)
            importlib.import_module(f"socialsell.cli.{name}").register(self)

    @property
    def pm(self) -> pluggy.PluginManager:
        if self.loaded_pm is None:
            from socialsell.plugins.manager import build_plugin_manager, call_each_plugin  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.plugins.manager; kept off its path

            pm = build_plugin_manager(self.plugins_dir)
            call_each_plugin(pm, "register_commands", cli=self)
            self.loaded_pm = pm
        return self.loaded_pm

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``--as NAME`` works after the subcommand too (``socialsell tasks --as alice``): it is
        moved to the front, where the root group reads it. Words after ``--`` are left alone."""
        return super().parse_args(ctx, hoist_as(args))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as e:
            # commands load lazily, so click's did-you-mean only saw those loaded so far: ask it
            # again with every command (`socialsell taks` -> "Did you mean 'tasks'?")
            raise click.exceptions.NoSuchCommand(e.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Like click's, but every error is one line (``Error: ...``) with exit status 2 for bad
        input, and a reader that leaves early (``socialsell tasks | head -1``) ends it quietly."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as e:
            click.echo(f"Error: {one_line(usage_error_line(e))}", err=True)  # one_line also redacts
            sys.exit(e.exit_code)
        except SocialsellError as e:  # raised while loading plugins, before any command ran
            click.echo(f"Error: {one_line(e)}", err=True)
            sys.exit(e.exit_code)
        except (click.exceptions.Abort, EOFError, KeyboardInterrupt):
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except BrokenPipeError:
            quiet_broken_pipe()
        sys.exit(rv if isinstance(rv, int) else 0)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in BUILTIN_COMMANDS and cmd_name not in self.commands:
            self.load_module(BUILTIN_COMMANDS[cmd_name])
        command = super().get_command(ctx, cmd_name)
        if command is None and self.loaded_pm is None:
            self.pm  # noqa: B018 - a plugin may provide it
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(BUILTIN_COMMANDS.values())):
            self.load_module(module)
        self.pm  # noqa: B018 - --help lists plugin commands too
        return super().list_commands(ctx)


def build_cli(plugins_dir: str | None = None, *, clock: Callable[[], datetime] | None = None) -> click.Group:
    """The root command. ``clock`` replaces the real clock for everything the commands do (the
    tests run the CLI on their test clock, so no test depends on the real date)."""

    @click.group(cls=SocialsellCLI, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
    @click.version_option(__version__, prog_name="socialsell")
    @click.option("--config", "config", metavar="PATH", envvar="SOCIALSELL_CONFIG",
                  help="Workspace config file or folder (default ./socialsell.toml).")
    @click.option("--db", "db_url", metavar="URL", envvar="SOCIALSELL_DB",
                  help="Database URL (default: socialsell.db beside the config).")
    @click.option("--as", "actor", metavar="NAME", envvar="SOCIALSELL_USER", help="Who is acting (a rep's name).")
    @click.option("--plugins-dir", metavar="DIR", envvar="SOCIALSELL_PLUGINS_DIR",
                  help="Also load every *.py file in DIR as a plugin.")
    @click.pass_context
    def cli(ctx: click.Context, config: str | None, db_url: str | None, actor: str | None, plugins_dir: str | None) -> None:
        """Social selling from the terminal.

        Marketing queues brand posts; every person who reacts becomes a scored, owned,
        time-boxed follow-up on a rep's list.

        \b
        Start:      socialsell init && socialsell post new --channel sandbox --text "Hello" --queue
        Try it:     socialsell demo
        """
        ctx.obj = State(config=config, db_url=db_url, actor=actor, plugins_dir=plugins_dir, cli=cli)

    cli.plugins_dir = plugins_dir
    cli.clock = clock
    return cli


def _argv_plugins_dir(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--plugins-dir" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--plugins-dir="):
            return arg.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> Any:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cli = build_cli(_argv_plugins_dir(argv) or os.environ.get("SOCIALSELL_PLUGINS_DIR"),
                        clock=frozen(os.environ.get("SOCIALSELL_NOW")))
        return cli.main(args=argv, prog_name="socialsell", standalone_mode=True)
    except SocialsellError as e:
        fail(str(e), e.exit_code)
