"""``post list --csv``: no cell a spreadsheet would run as a formula, and the export imports back."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from click.testing import CliRunner

from socialsell.app import App
from socialsell.cli import build_cli
from socialsell.marketing.campaigns import create_campaign
from socialsell.marketing.posts import create_post, list_posts
from socialsell.workspace import init_workspace

TEXTS = ["=1+1 is two", "+49 30 123456: call us", "-20% this week", "@dana thanks!", "'quoted' already",
         "''=double", "=SUM(A1:A9)", "Plain text, with a comma"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def test_export_neutralises_formulas_and_imports_back_unchanged(cli, app, pm, clock, tmp_path):
    create_campaign(app, "@launch")
    for i, text in enumerate(TEXTS):
        create_post(app, accounts=["sandbox"], text=text, at=clock.now + timedelta(hours=i + 1),
                    campaign="@launch" if i % 2 else None)
    result = cli("post", "list", "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "delivery", "channel", "status", "at", "published_at", "campaign", "text", "url", "error"]
    for r in rows:
        for cell in r:
            assert not cell.startswith(FORMULA_START), cell
    assert "'=1+1 is two" in [r[7] for r in rows] and "'@launch" in [r[6] for r in rows]

    # the same file into a fresh workspace: the same texts, times and campaigns
    export = tmp_path / "export.csv"
    export.write_text(result.stdout, encoding="utf-8")
    other = init_workspace(tmp_path / "other", name="Other", timezone="Europe/Berlin")
    other_app = App.load(str(other), None, pm=pm, clock=clock)
    try:
        create_campaign(other_app, "@launch")
        imported = CliRunner().invoke(build_cli(clock=clock), ["--config", str(other), "--as", "alice", "import", "posts",
                                                               str(export)], catch_exceptions=False)
        assert imported.exit_code == 0, imported.output
        assert f"imported {len(TEXTS)} posts" in imported.output

        def summary(a: App) -> list[tuple]:
            return sorted((d["text"], d["due_at"], p["campaign"], d["status"]) for p in list_posts(a) for d in p["deliveries"])

        assert summary(other_app) == summary(app)
        assert sorted(p["text"] for p in list_posts(other_app)) == sorted(TEXTS)
    finally:
        other_app.close()


def test_a_hand_written_leading_quote_is_kept(cli, app, tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text("channel,text\nsandbox,'tis the season\n", encoding="utf-8")
    assert cli("import", "posts", str(path)).exit_code == 0
    assert [p["text"] for p in list_posts(app)] == ["'tis the season"]
