"""Issue 12 item 9: what the networks say about a person is kept, shown, and used by the lead rules."""

from __future__ import annotations

import json

from socialsell_x.engagements import person_from

from socialsell.plugins.channel import Person

from .test_sales import eng, run


def test_x_user_fields_become_a_person():
    p = person_from({"id": "42", "username": "gina", "name": "Gina Globex", "description": "VP Sales at Globex",
                     "location": "Berlin", "verified": True, "public_metrics": {"followers_count": 5120}}, None)
    assert (p.handle, p.bio, p.headline, p.verified, p.followers, p.location, p.kind, p.profile_url) == (
        "@gina", "VP Sales at Globex", "VP Sales at Globex", True, 5120, "Berlin", "person", "https://x.com/gina")
    assert person_from({"id": "7", "username": "x"}, None).verified is None  # not said: unknown


def test_people_data_is_kept_shown_and_scored(cli, make_app, workspace):
    workspace.write_text(workspace.read_text().replace(
        "companies = []", 'companies = ["initech"]\nmin_followers = 1000\nverified_points = 5'))
    app = make_app()
    gina = Person("@gina", "Gina Globex", profile_url="https://x.com/gina", headline="Head of Ops",
                  bio="Ops nerd. Coffee. Opinions my own.", company="Initech", location="Berlin", followers=5120,
                  verified=True, kind="person")
    task = run(app, eng("@x", "comment", "Nice post", person=gina)).tasks_created[0]
    shown = json.loads(cli("contact", "show", "@gina", "--json").output)[0]
    (h,) = shown["handles"]
    assert (h["followers"], h["verified"], h["bio"], h["location"], h["company"], h["kind"]) == (
        5120, True, "Ops nerd. Coffee. Opinions my own.", "Berlin", "Initech", "person")
    reasons = [r for r, _ in shown["score_explained"]]
    assert "verified account" in reasons and "audience of 5120 followers" in reasons
    assert "target account: Initech" in reasons
    human = cli("task", "show", str(task["id"]), env={"COLUMNS": "200"}).output
    assert "5,120 followers, verified, Berlin, Initech" in human and "Ops nerd. Coffee." in human
    # the hourly rescore keeps the same lines (it reads followers and the badge from the handles)
    from socialsell.sales.rescore import rescore_open_followups

    rescore_open_followups(app, "w")
    again = json.loads(cli("contact", "show", "@gina", "--json").output)[0]
    assert [r for r, _ in again["score_explained"]] == reasons


def test_an_organization_is_marked(cli, app):
    page = Person("initech", "Initech", headline="We make TPS reports", company="Initech", kind="organization",
                  followers=880)
    run(app, eng("@x", "comment", "Congrats!", person=page))
    out = cli("contact", "show", "initech", env={"COLUMNS": "200"}).output
    assert "880 followers, Initech, organization" in out


def test_a_later_sighting_refreshes_the_profile_without_erasing_it(db_url, make_app):
    from sqlalchemy import select

    from socialsell.db import schema as t

    app = make_app(db_url)
    run(app, eng("@x", "comment", "hi", person=Person("@gina", "Gina", location="Berlin", followers=10)))
    run(app, eng("@x", "like", person=Person("@gina", "Gina G.", followers=5120, verified=True)))
    run(app, eng("@x", "like", person=Person("@gina")))  # says nothing new: nothing erased
    with app.db.read() as conn:
        row = conn.execute(select(t.handles.c.name, t.handles.c.location, t.handles.c.followers, t.handles.c.verified)
                           .where(t.handles.c.handle == "@gina")).one()
    assert tuple(row) == ("Gina G.", "Berlin", 5120, True)
