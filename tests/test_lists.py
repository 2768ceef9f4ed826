"""Issue 14 item 3: every list takes --limit N (default 50, 0 for all), says on stderr when it cuts
(exactly "showing 50 of 2,500; --limit 0 for all") and keeps --json stdout a pure JSON list; a page
is one query for the rows plus one for their handles."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event

from socialsell.cli.common import note_cut
from socialsell.loop.polling import poll_account
from socialsell.marketing.campaigns import create_campaign
from socialsell.marketing.posts import create_post, list_posts
from socialsell.sales.contacts import list_contacts
from socialsell.sales.deals import list_deals, lose_deal, open_deal, win_deal
from socialsell.sales.tasks import list_tasks

from .conftest import publish_quietly

#: every list command, with what makes it show everyone's rows
LISTS = {
    "tasks": ["tasks", "--all"],
    "contacts": ["contacts"],
    "post list": ["post", "list"],
    "deal list": ["deal", "list", "--all"],
    "campaign list": ["campaign", "list"],
    "log": ["log"],
    "sandbox timeline": ["sandbox", "timeline"],
}
#: the lists that keep their latest rows (shown oldest first); every other list keeps its first rows
KEEP_LATEST = ("post list", "sandbox timeline")


def _people_comment(app, clock, n: int, first: int = 1) -> None:
    """``n`` people ask about pricing under one post: ``n`` contacts, each with an open task."""
    remote = publish_quietly(app, clock, f"Post for people {first}..{first + n - 1}")
    sandbox = app.channel("sandbox")
    for i in range(first, first + n):
        clock.advance(minutes=1)
        sandbox.inject(post_id=remote, kind="comment", handle=f"@person{i}", name=f"Person {i}",
                       text="What does pricing look like for 20 seats?", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)


@pytest.fixture
def busy(app, clock):
    """Seven people with a task each, five deals (open, undated, won, lost), posts, campaigns."""
    _people_comment(app, clock, 7)
    contacts = [c["id"] for c in list_contacts(app)]
    app.actor = "alice"
    today = clock.now.date()
    deals = [open_deal(app, contacts[0], amount=1000.0, close=today + timedelta(days=20)),
             open_deal(app, contacts[1], amount=2000.0, close=today + timedelta(days=5)),
             open_deal(app, contacts[2], amount=3000.0),
             open_deal(app, contacts[3], amount=4000.0, close=today + timedelta(days=9)),
             open_deal(app, contacts[4], amount=5000.0, close=today + timedelta(days=9))]
    win_deal(app, deals[3]["id"], force=True)
    clock.advance(minutes=5)
    lose_deal(app, deals[4]["id"], "no budget", force=True)
    for name in ("Winter", "Spring", "Summer", "Autumn"):
        create_campaign(app, name)
    for i in range(5):
        create_post(app, accounts=["sandbox"], text=f"Scheduled {i}", at=clock.now + timedelta(days=5 - i))
    for i in range(3):
        publish_quietly(app, clock, f"Published {i}")
    return app


def _json(result) -> list:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", LISTS)
def test_limit_cuts_the_list_and_says_so_on_stderr_only(busy, cli, name):
    args = LISTS[name]
    everything = _json(cli(*args, "--limit", "0", "--json"))
    n = len(everything)
    assert n >= 4
    cut = cli(*args, "--limit", "2", "--json")
    page = _json(cut)  # stdout is the JSON list alone
    assert page == (everything[-2:] if name in KEEP_LATEST else everything[:2])
    assert cut.stderr == f"showing 2 of {n}; --limit 0 for all\n"
    human = cli(*args, "--limit", "1", env={"COLUMNS": "200"})
    assert human.exit_code == 0 and human.stderr == f"showing 1 of {n}; --limit 0 for all\n"
    assert "showing" not in human.stdout
    whole = cli(*args, "--limit", str(n), "--json")
    assert _json(whole) == everything and whole.stderr == ""


@pytest.mark.parametrize("name", LISTS)
def test_limit_zero_is_everything_and_the_order_is_stable(busy, cli, name):
    args = LISTS[name]
    everything = _json(cli(*args, "--limit", "0", "--json"))
    assert _json(cli(*args, "--limit", "0", "--json")) == everything  # the same rows, the same order
    ids = [r["id"] for r in everything]
    assert len(set(ids)) == len(ids)
    for k in range(1, len(everything)):  # each page is the start (or the end) of the whole list
        page = _json(cli(*args, "--limit", str(k), "--json"))
        assert page == (everything[-k:] if name in KEEP_LATEST else everything[:k])


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("bad", ["-1", "x", "1.5", "", "1e3", " -0 "])
def test_bad_limit_is_one_line_exit_2(cli, name, bad):
    r = cli(*LISTS[name], "--limit", bad, "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: Invalid value for '--limit'"), r.stderr
    assert "whole number, 0 for all" in r.stderr


def test_the_default_is_50(app, clock, cli):
    _people_comment(app, clock, 53)
    r = cli("contacts", "--json")
    assert len(_json(r)) == 50
    assert r.stderr == "showing 50 of 53; --limit 0 for all\n"
    r = cli("tasks", "--all")
    assert r.exit_code == 0 and r.stderr == "showing 50 of 53; --limit 0 for all\n"
    assert len(_json(cli("contacts", "--limit", "0", "--json"))) == 53


def test_the_note_groups_thousands(capsys):
    note_cut(50, 2500)
    assert capsys.readouterr().err == "showing 50 of 2,500; --limit 0 for all\n"
    note_cut(7, 7)
    assert capsys.readouterr().err == ""


def test_suggest_merges_takes_the_limit_too(app, clock, cli):
    sandbox = app.channel("sandbox")
    remote = publish_quietly(app, clock)
    for handle in ("@sam1", "@sam2", "@alex1", "@alex2"):  # two pairs: the same name and headline
        sandbox.inject(post_id=remote, kind="comment", handle=handle, name=handle[1:-1].title() + " Rivera",
                       headline=f"{handle[1:-1].title()} at Rivera Bikes", text="pricing?", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    everything = _json(cli("contacts", "--suggest-merges", "--limit", "0", "--json"))
    assert len(everything) == 2
    r = cli("contacts", "--suggest-merges", "--limit", "1", "--json")
    assert _json(r) == everything[:1] and r.stderr == "showing 1 of 2; --limit 0 for all\n"


def _statements(app):
    """The SQL statements run on ``app``'s database from now on (BEGIN and COMMIT left out)."""
    seen: list[str] = []

    @event.listens_for(app.db.engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany):
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    return seen


def test_a_page_is_one_query_for_the_rows_and_one_for_their_handles(db_url, make_app, clock):
    """The handles are read by the page's contact ids: the list's join is not run again."""
    app = make_app(db_url)
    _people_comment(app, clock, 6)
    seen = _statements(app)
    page = list_tasks(app, all_owners=True, limit=4)
    assert (len(page), page.total) == (4, 6)
    assert len(seen) == 2
    rows, handles = seen
    assert "JOIN" in rows and "JOIN" not in handles and "tasks" not in handles
    assert all(r["contact"]["handles"][0]["handle"].startswith("@person") for r in page)
    seen.clear()
    contacts = list_contacts(app, limit=4)
    assert (len(contacts), contacts.total, len(seen)) == (4, 6, 2)
    assert "contacts" not in seen[1]


def test_pages_on_both_databases(db_url, make_app, clock):
    """The total comes from the page's own query (a window count) on SQLite and PostgreSQL alike,
    and the database's order matches the one the lists promise."""
    app = make_app(db_url)
    _people_comment(app, clock, 5)
    everything = list_tasks(app, all_owners=True)
    page = list_tasks(app, all_owners=True, limit=3)
    assert [r["id"] for r in page] == [r["id"] for r in everything[:3]] and page.total == 5
    assert list_tasks(app, all_owners=True, limit=3, owner="nobody").total == 5  # all_owners wins
    assert list_tasks(app, owner="nobody", limit=3).total == 0
    for i in range(4):
        create_post(app, accounts=["sandbox"], text=f"Later {i}", at=clock.now + timedelta(days=i + 1))
    posts = list_posts(app)
    last_two = list_posts(app, limit=2)
    assert [p["id"] for p in last_two] == [p["id"] for p in posts[-2:]] and last_two.total == len(posts) == 5
    assert [p["deliveries"] for p in last_two] == [p["deliveries"] for p in posts[-2:]]
    contacts = [c["id"] for c in list_contacts(app)]
    app.actor = "alice"
    today = clock.now.date()
    late = open_deal(app, contacts[0], close=today + timedelta(days=30))
    undated = open_deal(app, contacts[1])
    soon = open_deal(app, contacts[2], close=today + timedelta(days=3))
    won = open_deal(app, contacts[3])
    win_deal(app, won["id"], 500.0, force=True)
    clock.advance(hours=1)
    lost = open_deal(app, contacts[4])
    lose_deal(app, lost["id"], "timing", force=True)
    # open by expected close (undated last), then closed, the latest first
    expected = [soon["id"], late["id"], undated["id"], lost["id"], won["id"]]
    assert [d["id"] for d in list_deals(app, all_owners=True)] == expected
    page = list_deals(app, all_owners=True, limit=2)
    assert [d["id"] for d in page] == expected[:2] and page.total == 5


def test_a_table_shows_brackets_and_colons_as_typed(app, clock, cli):
    """Cells are plain text: rich markup ("[/x]" would be refused with an error) and emoji codes
    are shown as typed, in the title too."""
    create_post(app, accounts=["sandbox"], text="[/x] sale :smile: [bold]now[/bold]", at=clock.now + timedelta(days=1))
    r = cli("post", "list", env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "[/x] sale :smile: [bold]now[/bold]" in r.stdout
