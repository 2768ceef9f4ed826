"""Named leases: one holder at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from socialsell.loop import leases


def test_a_lease_has_one_holder_until_it_expires(db_url, make_app, clock):
    app = make_app(db_url)
    assert leases.acquire(app.db, "poll:x", "host:1:a", clock.now, 60)
    assert not leases.acquire(app.db, "poll:x", "host:2:b", clock.now, 60)
    assert leases.acquire(app.db, "poll:x", "host:1:a", clock.now, 60)  # the holder renews
    later = clock.now + timedelta(seconds=61)
    assert leases.acquire(app.db, "poll:x", "host:2:b", later, 60)  # expired: taken over
    assert not leases.acquire(app.db, "poll:x", "host:1:a", later, 60)


def test_release_lets_the_next_holder_in(db_url, make_app, clock):
    app = make_app(db_url)
    assert leases.acquire(app.db, "job:metrics", "host:1:a", clock.now, 600)
    leases.release(app.db, "job:metrics", "host:1:a")
    assert leases.acquire(app.db, "job:metrics", "host:2:b", clock.now, 600)
