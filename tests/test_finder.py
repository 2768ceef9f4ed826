"""Issue 12 item 4: find people by handle, name or company, case- and accent-insensitive."""

from __future__ import annotations

import json

import pytest

from socialsell.plugins.channel import Person
from socialsell.sales.finder import find_contact, fold

from .test_sales import eng, run


@pytest.fixture
def people(app):
    def add(handle, name, company=None):
        return run(app, eng("@x", "comment", "Interesting, following",
                            person=Person(handle, name, company=company))).tasks_created[0]
    return {"whitfield": add("@dana", "Dana Whitfield", "Northwind Logistics"),
            "lee": add("@dlee", "Dana Lee"),
            "jose": add("@jn_77", "José Núñez", "Contoso Health")}


@pytest.mark.parametrize("ref, who", [
    ("@dana", "whitfield"), ("@DANA", "whitfield"), ("dana whitfield", "whitfield"), ("Whitfield", "whitfield"),
    ("northwind logistics", "whitfield"), ("dana whitfeld", "whitfield"), ("jose", "jose"), ("NUNEZ", "jose"),
    ("José Núñez", "jose"), ("jn_77", "jose"), ("contoso", "jose"), ("@dlee", "lee"),
])
def test_contact_show_by_handle_name_or_company(cli, people, ref, who):
    r = cli("contact", "show", ref, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["id"] == people[who]["contact_id"]


def test_ambiguous_gives_a_short_list_and_exit_2(cli, people):
    r = cli("contact", "show", "dana")
    assert r.exit_code == 2 and r.output.count("\n") == 1
    assert r.output.startswith("Error: 'dana' matches 2 contacts: ")
    assert f"#{people['whitfield']['contact_id']} Dana Whitfield" in r.output and f"#{people['lee']['contact_id']} Dana Lee" in r.output


@pytest.mark.parametrize("ref", ["zzzz", "@nobody", "  ", "0"])
def test_no_match_is_one_line_exit_2(cli, people, ref):
    r = cli("contact", "show", ref)
    assert r.exit_code == 2 and r.output.startswith("Error:") and r.output.count("\n") == 1


def test_task_show_by_handle(cli, people):
    r = cli("task", "show", "@dana", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["id"] == people["whitfield"]["id"]
    assert json.loads(cli("task", "show", "josé", "--json").output)[0]["id"] == people["jose"]["id"]


def test_deal_new_takes_a_name(cli, app, people):
    r = cli("deal", "new", "@dana", "--amount", "100", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["contact_id"] == people["whitfield"]["contact_id"]


def test_fold_and_ids(app, people):
    assert fold("  José   NÚÑEZ ") == "jose nunez"
    assert find_contact(app, "#3") == 3 and find_contact(app, "3") == 3
