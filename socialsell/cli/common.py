"""What every command shares: the lazily built App, output helpers, shared options."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from socialsell.app import App
from socialsell.cli.inputs import check_id
from socialsell.errors import SocialsellError, UsageError
from socialsell.records import record
from socialsell.redact import one_line

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from socialsell.app import App
    from socialsell.cli import SocialsellCLI


@record
class State:
    config: str | None
    db_url: str | None
    actor: str | None
    plugins_dir: str | None
    cli: SocialsellCLI
    _app: App | None = None

    @property
    def pm(self) -> pluggy.PluginManager:
        """The plugin manager (loads the plugins on first use)."""
        return self.cli.pm

    @property
    def app(self) -> App:
        if self._app is None:
            # the App loads plugins itself when it first needs a channel or a hook
            app = App.load(self.config, self.db_url, pm=self.cli.loaded_pm, actor=self.actor,
                           plugins_dir=self.plugins_dir, clock=self.cli.clock)
            if self.actor is not None:  # --as / SOCIALSELL_USER: a team member, or exit 2 naming the team
                from socialsell.team import resolve_actor  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.team; kept off its path

                app.actor = resolve_actor(app.workspace, self.actor)
            self._app = app
        return self._app


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain and channel errors into one line and the right exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except SocialsellError as e:
            fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            quiet_broken_pipe()
        except Exception as e:
            # the channel module costs ~10 ms at import (-X importtime), which no read command
            # should pay to handle an error it cannot raise
            from socialsell.plugins.channel import ChannelError, ReplyNotAllowed  # noqa: PLC0415

            if isinstance(e, ReplyNotAllowed):
                fail(f"{e}" + (f" - reply by hand: {e.url}" if e.url else ""), 1)
            if isinstance(e, ChannelError):
                fail(f"{type(e).__name__}: {e}", 1)
            if os.environ.get("SOCIALSELL_DEBUG"):
                raise
            fail(f"internal error: {type(e).__name__}: {e} (set SOCIALSELL_DEBUG=1 for the traceback, and please report it)", 1)

    return wrapper


def quiet_broken_pipe() -> None:
    """The reader of our output left (``socialsell tasks | head -1``): end without a word, as a
    shell tool killed by SIGPIPE would. Python would otherwise complain again when it flushes
    stdout at exit, so stdout is pointed at the null device first."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # an in-memory stdout (tests) has no descriptor
        pass
    sys.exit(141)  # 128 + SIGPIPE: what the shell reports for `yes | head -1`


def fail(message: str, code: int = 2) -> None:
    """Print the one error line (redacted: it may quote a network's answer) and exit."""
    click.echo(f"Error: {one_line(message)}", err=True)
    sys.exit(code)


def pass_app(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give the command the App as first argument, with one-line errors."""

    @click.pass_obj
    @handle_errors
    @functools.wraps(func)
    def wrapper(state: State, *args: Any, **kwargs: Any) -> Any:
        return func(state.app, *args, **kwargs)

    return wrapper


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")(func)


#: how many rows a list shows unless ``--limit`` says otherwise (gh shows 30; a rep's day fits in 50)
DEFAULT_LIMIT = 50


class LimitType(click.ParamType):
    """``--limit N``: a whole number, 0 for all. The command receives ``None`` for all, so it can
    pass the value straight to a query (``fetch_page`` in socialsell/db/pages.py)."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if value is None or isinstance(value, int):
            return value or None
        text = str(value).strip()
        if not re.fullmatch(r"\+?\d{1,12}", text):
            self.fail(f"must be a whole number, 0 for all, not {text[:40]!r}", param, ctx)
        return int(text) or None


def limit_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--limit N`` for a list command (default :data:`DEFAULT_LIMIT`, 0 for all): the command
    gets ``limit`` (an int, or None for all) and calls :func:`note_cut` after printing."""
    return click.option("--limit", "limit", type=LimitType(), default=DEFAULT_LIMIT, show_default=True,
                        help="Show at most N (0: all).")(func)


def note_cut(shown: int, total: int) -> None:
    """Say on stderr that a list was cut, exactly ``showing 50 of 2,500; --limit 0 for all``
    (stdout stays the list alone, so ``--json`` output is pure JSON)."""
    if shown < total:
        click.echo(f"showing {shown:,} of {total:,}; --limit 0 for all", err=True)


def channel_option(multiple: bool = False, required: bool = False, help: str = "Channel account name.") -> Callable[..., Any]:
    return click.option("--channel", "-c", "channels" if multiple else "channel", multiple=multiple, required=required,
                        metavar="NAME", help=help)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_json(rows: Any) -> None:
    # indented for people, compact (and several times faster: the C encoder) for pipes
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(rows, indent=indent, ensure_ascii=False, default=_json_default))


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None,
                empty: str = "nothing to show", one_line: bool = False) -> None:
    """A rich table. ``one_line``: every row stays on one line and long cells end in "…", for
    lists people scan (tasks, posts); otherwise long cells fold.

    Cells and the title are plain text (``rich.text.Text``), never read as rich markup or emoji
    codes: a name or a post may hold "[/x]" (which markup would refuse with an error) or
    ":smile:", and parsing them cost a fifth of the rendering of a page of 50 tasks.

    A one-line table is written without rich when it can be (socialsell/cli/plain_table.py:
    the same characters, ~45 ms less for a page of 50 tasks)."""
    rows = list(rows)
    if not rows:
        click.echo(empty)
        return
    cells = [["" if v is None else str(v) for v in r] for r in rows]
    if one_line:
        from socialsell.cli import plain_table  # noqa: PLC0415 - 0.3 ms (-X importtime) that --json output never needs

        text = plain_table.render(columns, cells, title)
        if text is not None:
            sys.stdout.write(text)  # as rich does: click.echo would drop the header's bold when FORCE_COLOR is set
            sys.stdout.flush()
            return
    rich_table(columns, cells, title=title, one_line=one_line)


def rich_table(columns: Sequence[str], cells: Sequence[Sequence[str]], *, title: str | None = None,
               one_line: bool = False) -> None:
    """:func:`print_table`'s cells drawn by rich (tests/test_plain_table.py compares the two)."""
    # imported here: rich costs ~35 ms at import (-X importtime), which --json output must not pay
    from rich.console import Console  # noqa: PLC0415 - rich costs ~35 ms (-X importtime); --json and CSV never need it
    from rich.table import Table  # noqa: PLC0415 - with the line above
    from rich.text import Text  # noqa: PLC0415 - with the line above

    from socialsell.cli import plain_table  # noqa: PLC0415 - see print_table

    console = Console(soft_wrap=False)
    console.on_broken_pipe = quiet_broken_pipe  # type: ignore[method-assign] # rich's own exits 1
    table = Table(title=Text(title) if title else None, show_edge=False, header_style="bold", pad_edge=False)
    if one_line:
        widths = plain_table.one_line_widths(columns, cells, console.width)
        for c, width in zip(columns, widths, strict=True):
            table.add_column(c, no_wrap=True, overflow="ellipsis", width=width)
    else:
        for c in columns:
            table.add_column(c, overflow="fold")
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise UsageError(f"--var {p!r}: use key=value")
        k, v = p.split("=", 1)
        if not k.strip():
            raise UsageError(f"--var {p!r}: the key is empty")
        out[k.strip()] = v
    return out


def parse_id(value: str, what: str) -> int:
    """``value`` as a positive id that fits the database (see :func:`socialsell.cli.inputs.check_id`)."""
    return check_id(value, what)
