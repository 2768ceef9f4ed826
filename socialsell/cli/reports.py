"""``socialsell report``: the SLA, marketing, sales, attribution and feedback, as tables, JSON,
CSV or one self-contained HTML file (docs/reports.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from socialsell.cli.common import _json_default, pass_app
from socialsell.errors import UsageError
from socialsell.reports import (
    SECTIONS,
    build_report,
    build_scope,
    collector_paused,
    no_last_collection,
    plugin_sections,
)
from socialsell.reports.render_data import render_csv, report_rows

FORMATS = ("table", "json", "csv", "html")


def register(cli: click.Group) -> None:
    cli.add_command(report)


@click.command()
@click.option("--since", metavar="D", help="Start: 2026-11-01, today, yesterday, 7d (ago). Default: four weeks back.")
@click.option("--until", metavar="D", help="End: a date (through that day) or a time (up to it). Default: today, through its end.")
@click.option("--campaign", metavar="NAME", help="Only this campaign's posts and the leads they opened.")
@click.option("--channel", "-c", metavar="NAME", help="Only this channel account.")
@click.option("--owner", metavar="NAME", help="Only this rep's follow-ups.")
@click.option("--model", metavar="M", help="Attribution model: first, last or linear (default linear).")
@click.option("--section", metavar="NAME",
              help="One part: sla, marketing, sales, attribution, feedback, or one a plugin adds.")
@click.option("--format", "fmt", metavar="F", default="table", show_default=True, help="table, json, csv or html.")
@click.option("--output", "-o", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of the terminal.")
@pass_app
def report(app, since, until, campaign, channel, owner, model, section, fmt, output) -> None:
    """Both sides of the SLA, reach to revenue, and what customers said."""

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    no_last_collection()  # speed (docs/reports.md "Speed"): see no_last_collection and collector_paused
    with collector_paused():
        # plugins are loaded only when their sections can be asked for (not for a built-in --section)
        extra = plugin_sections(app.pm) if section is None or section not in SECTIONS else {}
        if section is not None and section not in SECTIONS and section not in extra:
            raise UsageError(f"unknown --section {section!r} (one of {', '.join([*SECTIONS, *extra])})")
        if output is not None and not output.parent.is_dir():
            raise UsageError(f"--output {output}: the folder {output.parent} does not exist")
        scope = build_scope(app, since=since, until=until, campaign=campaign, channel=channel, owner=owner,
                            model=model, section=section)
        sections = build_report(app, scope, extra)
        text = render(sections, scope, fmt, title=f"{app.workspace.name}: socialsell report")
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"--output {output}: cannot write ({e.strerror})") from None
    click.echo(f"report written to {output}", err=True)


def render(sections, scope, fmt: str, title: str = "socialsell report") -> str:
    """The report in one format; each renderer is imported only when used (json needs no rich or matplotlib)."""
    if fmt == "json":
        return json.dumps(report_rows(sections, scope), ensure_ascii=False, default=_json_default)
    if fmt == "csv":
        return render_csv(sections, scope)
    if fmt == "html":
        from socialsell.reports.render_html import render_html  # noqa: PLC0415 - matplotlib, only the HTML report needs it

        return render_html(sections, scope, title=title)

    from socialsell.reports.render_text import render_text  # noqa: PLC0415 - rich, only the text report needs it (tests/test_reports.py: --format json loads neither)

    return render_text(sections, scope)
