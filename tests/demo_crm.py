"""`make demo-crm`: the demo, synced to a local fake HubSpot, and a deal closed there coming back
as revenue on the post that started it (docs/crm.md, "Trying it without HubSpot").

HubSpot is faked at the HTTP layer only (tests/hubspot_fake.py): every `socialsell` command
below is the real CLI, with the real hubspot-api-client, pointed at the fake by `[hubspot] host`.
It checks what it shows and exits 1 when something is off, so a test runs it as it is.

    python -m tests.demo_crm [--dir DIR] [--days N] [--now ISO]

``--now`` pins the time (SOCIALSELL_NOW for every command, the fake HubSpot's clock, the deal's
close date), so the test gets the same run whatever the hour; without it the demo ends now.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from socialsell.app import App
from socialsell.clock import utcnow
from socialsell.db import schema as t

from .hubspot_fake import serve

TOKEN = "pat-demo-0000-fake-hubspot"  # the fake's; a real token never goes in a file (docs/crm.md)


#: the environment every command runs with (SOCIALSELL_NOW added by --now)
ENV = {"HUBSPOT_TOKEN": TOKEN, "COLUMNS": "120"}


def _run(config: Path, *args: str) -> str:
    command = [sys.executable, "-m", "socialsell", "--config", str(config), *args]
    print(f"\n$ socialsell {' '.join(args)}", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **ENV})
    print(done.stdout.rstrip())
    if done.returncode != 0:
        print(done.stderr.rstrip(), file=sys.stderr)
        raise SystemExit(f"`socialsell {' '.join(args)}` failed ({done.returncode})")
    return done.stdout


def _check(ok: bool, what: str) -> None:
    print(f"{'ok' if ok else 'WRONG'}: {what}", flush=True)
    if not ok:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--now", default=None, help="an ISO time with its zone: the run's fixed time")
    args = parser.parse_args(argv)
    clock = utcnow  # the real time, as `make demo` runs, unless --now pins it
    if args.now:
        ENV["SOCIALSELL_NOW"] = args.now
        fixed = datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(UTC)
        clock = lambda: fixed  # noqa: E731 - the app's and the fake HubSpot's clock, one fixed time
    folder = args.dir or Path(tempfile.mkdtemp(prefix="socialsell-demo-crm-"))
    _run(folder / "socialsell.toml", "demo", "--dir", str(folder), "--days", str(args.days))
    config = folder / "socialsell.toml"
    with serve(TOKEN, clock) as (fake, url):
        fake.without_custom_properties()  # a new HubSpot account: `crm setup` creates them
        with open(config, "a") as f:
            f.write(f'\n[hubspot]\ntoken = {{env = "HUBSPOT_TOKEN"}}\nhost = "{url}"  # a local fake HubSpot\n')
        _run(config, "crm", "setup")
        _run(config, "crm", "sync")
        app = App.load(str(config), actor="morgan", clock=clock)
        try:
            with app.db.read() as conn:
                leads = conn.execute(select(t.tasks.c.contact_id).distinct()).scalars().all()
                tasks = conn.execute(select(t.tasks.c.id)).scalars().all()
            ids = sorted(o["properties"]["socialsell_contact_id"] for o in fake.objects["contacts"].values())
            _check(ids == sorted(str(c) for c in leads), f"{len(leads)} leads in HubSpot, once each")
            _check(len(fake.objects["tasks"]) == len(tasks), f"{len(tasks)} tasks in HubSpot")
            _check(len(fake.objects["notes"]) > 0 and all(
                fake.associations.get(("notes", n, "contacts")) for n in fake.objects["notes"]),
                f"{len(fake.objects['notes'])} notes, each on its contact's timeline")
            again = json.loads(_run(config, "crm", "sync", "--json"))[0]
            _check(again["created"] == {}, "a second sync creates nothing")

            # sales close a deal in HubSpot with the first lead that started on a post (listening's
            # leads started on a stranger's public post: no post of ours to credit)
            with app.db.read() as conn:
                E = t.engagements
                heard = select(E.c.contact_id).where(E.c.kind == "signal")
                contact = conn.execute(select(E.c.contact_id).where(
                    E.c.contact_id.in_(leads), E.c.delivery_id.is_not(None), E.c.contact_id.not_in(heard))
                    .order_by(E.c.contact_id).limit(1)).scalar()
            hs_contact = next(i for i, o in fake.objects["contacts"].items()
                              if o["properties"]["socialsell_contact_id"] == str(contact))
            closed = (clock() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            deal = fake.add("deals", {"dealname": "Demo: 20 seats", "amount": "9000", "dealstage": "closedwon",
                                      "hs_is_closed_won": "true", "closedate": closed})
            fake.associate("contacts", hs_contact, "deals", deal)
            print(f"\n(in HubSpot: deal {deal} 'Demo: 20 seats', 9,000, closed won, with contact {contact})")
            _run(config, "crm", "sync")
            report = _run(config, "report", "--section", "attribution")
            data = json.loads(_run(config, "report", "--section", "attribution", "--format", "json"))
            with app.db.read() as conn:
                started = conn.execute(
                    select(t.deliveries.c.post_id).join(t.engagements, t.engagements.c.delivery_id == t.deliveries.c.id)
                    .where(t.engagements.c.contact_id == contact, t.engagements.c.ignored.is_(None))
                    .order_by(t.engagements.c.occurred_at, t.engagements.c.id).limit(1)).scalar()
        finally:
            app.close()
    rows = {r["id"]: r for r in data if isinstance(r, dict) and "id" in r}
    won = [r for r in rows.values() if r["id"].startswith("attribution.deal.") and r.get("source") == "hubspot"]
    _check(len(won) == 1 and won[0]["amount"] == 9000.0 and won[0]["posts"].split()[0] == f"#{started}",
           f"the HubSpot deal is revenue in the report, source hubspot, on post #{started} that started it")
    _check("hubspot" in report, "the report's table names where the figure came from")
    print(f"\nworkspace kept in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
