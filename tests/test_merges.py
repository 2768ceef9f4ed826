"""Issue 12 item 5: merges show what they do, ask, need the lead across owners, and can be undone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from socialsell.plugins.channel import Person
from socialsell.sales.contacts import (
    contact_detail,
    merge_contacts,
    suggest_merges,
    unmerge_contact,
)
from socialsell.sales.deals import list_deals, open_deal
from socialsell.sales.tasks import add_note, get_task, list_tasks, snooze_task

from .test_sales import eng, run


def _twins(app):
    """Two Dana Whitfields with the same headline on different handles, owned by alice and bob."""
    x = Person("@dana", "Dana Whitfield", headline="VP Operations at Northwind")
    li = Person("dana-w-77", "Dana Whitfield", headline="VP Operations at Northwind")
    a = run(app, eng("@x", "comment", "Could we see a demo?", person=x)).tasks_created[0]
    b = run(app, eng("@x", "reply", "Following this", person=li)).tasks_created[0]
    assert a["owner"] != b["owner"]
    return a, b


def test_suggest_merges_finds_the_same_name_and_headline(app):
    a, b = _twins(app)
    (pair,) = suggest_merges(app)
    assert (pair["id"], pair["merge_with"]) == (a["contact_id"], b["contact_id"])
    assert pair["reason"].startswith("same name and headline")


def test_merge_then_unmerge_restores_both_sides_with_their_tasks(db_url, make_app, clock):
    app = make_app(db_url)
    a, b = _twins(app)
    ka, kb = a["contact_id"], b["contact_id"]
    app.actor = a["owner"]
    snooze_task(app, a["id"], clock.now + timedelta(days=2))
    app.actor = b["owner"]
    add_note(app, b["id"], "met at the conference")
    deal = open_deal(app, kb, amount=900.0)
    before = {tk["id"]: (tk["owner"], tk["status"]) for tk in list_tasks(app, all_owners=True, include_snoozed=True)}
    assert before == {a["id"]: (a["owner"], "snoozed"), b["id"]: (b["owner"], "open")}

    app.actor = "alice"
    with pytest.raises(Exception, match="only the lead"):
        merge_contacts(app, ka, kb)
    app.actor = "morgan"
    merge_contacts(app, ka, kb)
    # the other side was open: the kept, snoozed task wakes instead of hiding it
    assert [(tk["id"], tk["status"]) for tk in list_tasks(app, all_owners=True, include_snoozed=True)] == [(a["id"], "open")]
    assert [d["contact"]["id"] for d in list_deals(app, all_owners=True)] == [ka]
    clock.advance(hours=1)
    later = run(app, eng("@x", "like", person=Person("dana-w-77", "Dana Whitfield")))
    assert later.new[0]["contact_id"] == ka

    r = unmerge_contact(app, kb)
    assert r == {"id": ka, "restored": kb, "merge": 1, "task": b["id"]}
    after = {tk["id"]: (tk["owner"], tk["status"]) for tk in list_tasks(app, all_owners=True, include_snoozed=True)}
    assert after == before
    restored = contact_detail(app, kb)
    assert restored["id"] == kb and "redirected_from" not in restored
    assert [h["handle"] for h in restored["handles"]] == ["dana-w-77"]
    assert restored["engagement_count"] == 2  # its reply, and the like that came after the merge
    assert any(n["text"] == "met at the conference" for n in restored["notes"])
    assert not any(n["kind"] == "merge" for n in contact_detail(app, ka)["notes"])
    assert [d["contact"]["id"] for d in list_deals(app, all_owners=True)] == [kb] and deal["id"] == 1
    assert [e["kind"] for e in get_task(app, b["id"])["engagements"]] == ["reply"]
    assert [h["handle"] for h in contact_detail(app, ka)["handles"]] == ["@dana"]
    with pytest.raises(Exception, match="not merged"):
        unmerge_contact(app, kb)
    # and it can be merged again
    merge_contacts(app, ka, kb)
    assert contact_detail(app, kb)["id"] == ka


def test_merge_cli_shows_the_plan_and_asks(cli, app):
    a, b = _twins(app)
    ka, kb = str(a["contact_id"]), str(b["contact_id"])
    r = cli("contact", "merge", ka, kb, actor="morgan")
    assert r.exit_code == 2 and "add --yes to merge without a terminal" in r.output
    for part in ("keep   #", "merge  #", "@dana", "dana-w-77", f"task {a['id']} (open, {a['owner']})",
                 f"owner {b['owner']}", "no open deal", "the lead's call"):
        assert part in r.output, part
    assert len(json.loads(cli("contacts", "--json").output)) == 2  # nothing merged
    r = cli("contact", "merge", ka, kb, "--yes", actor="morgan")
    assert r.exit_code == 0 and f"contact unmerge {kb}" in r.output
    r = cli("contact", "unmerge", kb, actor="morgan")
    assert r.exit_code == 0 and f"contact {kb} restored beside {ka}; task {b['id']} reopened" in r.output
    assert len(json.loads(cli("tasks", "--all", "--json").output)) == 2
    assert cli("contact", "unmerge", kb).exit_code == 2
    assert cli("contact", "unmerge", "999").exit_code == 2
    assert [e["kind"] for e in json.loads(cli("log", "--kind", "contact", "--json").output)] == ["contact.unmerged", "contact.merged"]
