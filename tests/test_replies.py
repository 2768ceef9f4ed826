"""Issue 12 item 2: replies are guarded like posts, and the opener is only a suggestion."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialsell.sales.tasks import get_task, post_topic, suggested_opener

from .test_sales_cli import seeded  # noqa: F401  (the fixture)


def _sent(app) -> list[str]:
    with app.channel("sandbox").state(write=False) as s:
        return [p["text"] for p in s["posts"] if p.get("reply_to")]


@pytest.mark.parametrize("text, why", [
    ("we guarantee free money", "contains the banned word 'guarantee'"),
    ("x" * 600, "600 characters is over"),
    ("   ", "empty"),
])
def test_a_reply_breaking_the_rules_is_refused_in_one_line_and_nothing_is_sent(app, cli, seeded, text, why):  # noqa: F811
    before = _sent(app)
    r = cli("task", "reply", str(seeded["dana"]), text)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error:") and r.output.strip().count("\n") == 0 and why in r.output
    assert _sent(app) == before
    assert get_task(app, seeded["dana"])["replied_at"] is None


def test_a_second_reply_needs_again(app, cli, seeded):  # noqa: F811
    assert cli("task", "reply", str(seeded["dana"]), "Hi Dana, pricing is per seat").exit_code == 0
    n = len(_sent(app))
    twice = cli("task", "reply", str(seeded["dana"]), "Hi Dana, did you see my answer?")
    assert twice.exit_code == 2 and "already replied" in twice.output and "--again" in twice.output
    assert len(_sent(app)) == n
    assert cli("task", "reply", str(seeded["dana"]), "Hi Dana, did you see my answer?", "--again").exit_code == 0
    assert len(_sent(app)) == n + 1


def test_work_an_empty_enter_sends_nothing(app, cli, seeded):  # noqa: F811
    before = _sent(app)
    r = cli("work", input="r\n\nq")  # r, Enter at reply:, Enter at "send the suggested opener?" (No)
    assert r.exit_code == 0, r.output
    assert "nothing sent" in r.output and _sent(app) == before
    assert get_task(app, seeded["dana"])["replied_at"] is None


def test_work_sends_the_opener_only_when_accepted_and_asks_before_a_second_reply(app, cli, seeded):  # noqa: F811
    opener = get_task(app, seeded["dana"])["opener"]
    r = cli("work", input="r\ny\nq")  # r, Enter at reply:, y to the opener
    assert r.exit_code == 0, r.output
    assert _sent(app)[-1] == opener
    n = len(_sent(app))
    # Dana now waits on her answer, listed last: skip the other task, then a second reply to
    # Dana is asked first, and the default is no
    r = cli("work", input="kr\nq")
    assert "already replied" in r.output and "nothing sent" in r.output and len(_sent(app)) == n
    r = cli("work", input="kry\nThanks again Dana\nq")
    assert r.exit_code == 0 and _sent(app)[-1] == "Thanks again Dana"
    assert len(json.loads(cli("tasks", "--json").output)) == 2


def test_the_webinar_opener_is_well_formed():
    task = {"contact": {"display_name": "Dana Whitfield", "stage": "lead"}, "intent": False,
            "engagements": [{"kind": "like", "text": None,
                             "post_text": 'Join us live on Thursday 16:00 CET for "Social selling without the spam". '
                                          "Register: https://acme.example/webinar?x=1"}]}
    opener = suggested_opener(task)
    assert opener == ("Hi Dana, glad the post \"Join us live on Thursday 16:00 CET for 'Social selling…\" was useful. "
                      "Is this something your team is looking at?")


_KINDS = st.sampled_from(["like", "comment", "reply", "repost", "quote", "mention", "follow"])


@settings(max_examples=300, deadline=None)
@given(post=st.one_of(st.none(), st.text(max_size=400)), said=st.one_of(st.none(), st.text(max_size=200)),
       name=st.one_of(st.none(), st.text(max_size=60)), kind=_KINDS,
       stage=st.sampled_from(["engaged", "lead", "customer"]), intent=st.booleans())
def test_openers_are_well_formed_whatever_the_post_said(post, said, name, kind, stage, intent):
    task = {"contact": {"display_name": name, "stage": stage}, "intent": intent,
            "engagements": [{"kind": kind, "text": said, "post_text": post}]}
    opener = suggested_opener(task)
    assert opener.startswith("Hi ") and opener.endswith(("?", "."))
    assert "\n" not in opener and all(ch.isprintable() for ch in opener)
    assert opener.count('"') in (0, 2)  # the topic, quoted once, never a stray quote
    assert "  " not in opener and "Hi ," not in opener
    assert len(opener) <= 200  # fits a reply on every channel, X included
    topic = post_topic(post)
    # links are dropped; the word "HTTP" itself is a topic like any other (hypothesis found "HTTP")
    assert len(topic) <= 60 and '"' not in topic and not re.search(r"https?://|www\.", topic, re.I)


def test_a_quote_inside_a_name_keeps_the_opener_balanced():
    """Found by the property test above: the name 0"A left one stray quote in the opener."""
    task = {"contact": {"display_name": '0"A', "stage": "engaged"}, "intent": False,
            "engagements": [{"kind": "like", "text": None, "post_text": None}]}
    assert suggested_opener(task).count('"') == 0
