"""Open follow-ups' scores decay with time, and the list re-orders accordingly."""

from __future__ import annotations

import pytest

from socialsell.loop.polling import poll_account
from socialsell.sales.contacts import contact_detail
from socialsell.sales.rescore import rescore_open_followups
from socialsell.sales.tasks import list_tasks

from .conftest import publish_quietly


def test_scores_decay_and_the_stage_stays(db_url, make_app, clock):
    app = make_app(db_url)
    publish_quietly(app, clock)
    sandbox = app.channel("sandbox")
    sandbox.inject(post_id="p1", kind="comment", handle="@old", text="Following this, looks great", at=clock.now)
    sandbox.inject(post_id="p1", kind="comment", handle="@old", text="Sharing with my team", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    (task,) = list_tasks(app, all_owners=True)
    assert (task["score"], task["priority"], task["contact"]["stage"]) == (16.0, 2, "lead")

    assert rescore_open_followups(app, "w", clock.now) == {"rescored": 0, "open": 1}  # nothing changed yet
    clock.advance(days=28)  # two half-lives
    assert rescore_open_followups(app, "w", clock.now) == {"rescored": 1, "open": 1}
    (task,) = list_tasks(app, all_owners=True)
    contact = contact_detail(app, task["contact"]["id"])
    assert task["score"] == contact["score"] == pytest.approx(4.0)
    assert sum(p for _, p in contact["score_explained"]) == pytest.approx(contact["score"])
    assert all("28d ago" in reason for reason, _ in contact["score_explained"])
    assert task["priority"] == 4 and contact["stage"] == "lead"  # time alone never demotes a stage


def test_a_fresh_question_overtakes_a_stale_one(make_app, clock):
    app = make_app()
    publish_quietly(app, clock)
    sandbox = app.channel("sandbox")
    sandbox.inject(post_id="p1", kind="reply", handle="@stale", text="Interesting, following", at=clock.now)
    sandbox.inject(post_id="p1", kind="like", handle="@stale", text=None, at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    clock.advance(days=30)
    sandbox.inject(post_id="p1", kind="comment", handle="@fresh", text="Nice one", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    rescore_open_followups(app, "w", clock.now)
    scores = {t["contact"]["name"]: t["score"] for t in list_tasks(app, all_owners=True)}
    assert scores["fresh"] > scores["stale"]


def _several_followups(app, clock, handles=("@ann", "@bo", "@cy", "@di")):
    publish_quietly(app, clock)
    sandbox = app.channel("sandbox")
    for handle in handles:
        sandbox.inject(post_id="p1", kind="comment", handle=handle, text="Following this, looks great", at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    return list_tasks(app, all_owners=True)


def test_the_job_rescores_several_open_and_snoozed_tasks_at_once(db_url, make_app, clock):
    """Issue 12 item 8: with two or more tasks to rescore, the batched UPDATE used to fail
    ("'expanding' parameters can't be used with executemany()") on both databases."""
    from socialsell.sales.tasks import close_task, snooze_task

    app = make_app(db_url)
    tasks = _several_followups(app, clock)
    assert len(tasks) == 4 and len({t["score"] for t in tasks}) == 1
    by_name = {t["contact"]["name"]: t for t in tasks}
    snooze_task(app, by_name["bo"]["id"], clock.now.replace(hour=17), force=True)
    close_task(app, by_name["di"]["id"], "not_interested", force=True)
    done_score = by_name["di"]["score"]

    clock.advance(days=14)  # one half-life
    assert rescore_open_followups(app, "w", clock.now) == {"rescored": 3, "open": 3}
    after = {t["contact"]["name"]: t for t in list_tasks(app, all_owners=True, include_snoozed=True)}
    assert set(after) == {"ann", "bo", "cy"}
    assert [t["score"] for t in after.values()] == [pytest.approx(done_score / 2)] * 3
    with app.db.read() as conn:
        from sqlalchemy import select

        from socialsell.db import schema as t

        assert conn.execute(select(t.tasks.c.score).where(t.tasks.c.id == by_name["di"]["id"])).scalar() == done_score
    assert rescore_open_followups(app, "w", clock.now) == {"rescored": 0, "open": 3}  # stable once decayed


def test_run_once_decays_several_scores_and_fails_loudly_when_a_job_fails(workspace, cli, make_app, clock, tmp_path):
    app = make_app()
    _several_followups(app, clock, ("@ann", "@bo"))
    clock.advance(days=14)
    result = cli("run", "--once")
    assert result.exit_code == 0, result.output
    assert [t["score"] for t in list_tasks(app, all_owners=True)] == [pytest.approx(4.0)] * 2

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken_job.py").write_text(
        "from socialsell import hookimpl\n\n"
        "@hookimpl\n"
        "def register_jobs(register):\n"
        "    def boom(ctx):\n"
        "        raise RuntimeError('crm down')\n"
        "    register('crm-sync', boom, seconds=600)\n"
    )
    failed = cli("--plugins-dir", str(plugins), "run", "--once")
    assert failed.exit_code == 1
    assert "Error: job crm-sync failed: RuntimeError: crm down" in failed.output


def _task_version(app, task_id):
    from sqlalchemy import select

    from socialsell.db import schema as t

    with app.db.read() as conn:
        return conn.execute(select(t.tasks.c.updated_at, t.tasks.c.priority).where(t.tasks.c.id == task_id)).one()


def test_a_priority_moved_by_decay_is_a_change_a_score_alone_is_not(db_url, make_app, clock):
    """A CRM sends a task again when its updated_at moves (docs/crm.md): a priority that decay
    moves must reach it; a score sinking by a tenth each hour must not resend every task hourly."""
    app = make_app(db_url)
    publish_quietly(app, clock)
    app.channel("sandbox").inject(post_id="p1", kind="comment", handle="@old", text="Following this, looks great",
                                  at=clock.now)
    poll_account(app, "sandbox", "w", clock.now)
    (task,) = list_tasks(app, all_owners=True)
    opened = _task_version(app, task["id"])
    assert opened.priority == 3

    clock.advance(days=1)  # the score sinks a little, the priority stays
    assert rescore_open_followups(app, "w", clock.now)["rescored"] == 1
    assert _task_version(app, task["id"]) == opened

    clock.advance(days=27)  # below the task threshold: priority 4
    assert rescore_open_followups(app, "w", clock.now)["rescored"] == 1
    moved = _task_version(app, task["id"])
    assert moved.priority == 4 and moved.updated_at == clock.now
