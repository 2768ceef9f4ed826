"""An example notifier plugin: post follow-up events to a Slack-compatible incoming webhook.

Install it like any plugin (an entry point in the ``socialsell`` group), or drop this file in
a folder and run ``socialsell --plugins-dir FOLDER run``. It reads the webhook URL from the
environment, never from the config file, because the URL is a secret::

    export SOCIALSELL_WEBHOOK_URL=https://hooks.slack.com/services/T000/B000/XXXX

It implements two event hooks:

* ``task_created``: "New follow-up #12 for alice: Dana Whitfield (Northwind) - comment with
  intent (pricing)";
* ``sla_breached``: "Follow-up #12 (alice) is overdue" / "... escalated".

Each message is Slack's minimal payload, ``{"text": "..."}``, which Mattermost, Rocket.Chat,
Discord's ``/slack`` endpoint and Microsoft Teams' Slack-compatible connectors accept too.
A failing webhook is logged and never breaks the loop: notifications are best effort.
"""

from __future__ import annotations

import logging
import os

from socialsell.api import ContactView, TaskView, hookimpl

log = logging.getLogger("socialsell.webhook")

URL_ENV = "SOCIALSELL_WEBHOOK_URL"
TIMEOUT = 10


def post(text: str) -> bool:
    """Send one message; True when the webhook took it."""
    url = os.environ.get(URL_ENV)
    if not url:
        return False
    import requests  # noqa: PLC0415 - imported at first use, so read-only commands never pay for it

    try:
        response = requests.post(url, json={"text": text}, timeout=TIMEOUT)
        response.raise_for_status()
    except requests.RequestException as e:
        # the URL is a secret: log the error class and status only
        status = getattr(getattr(e, "response", None), "status_code", None)
        log.warning("webhook failed: %s%s", type(e).__name__, f" (HTTP {status})" if status else "")
        return False
    return True


@hookimpl
def task_created(task: TaskView, contact: ContactView) -> None:
    who = contact.get("display_name") or "someone"
    if contact.get("company"):
        who += f" ({contact['company']})"
    post(f"New follow-up #{task['id']} for {task.get('owner') or 'nobody'}: {who} - {task.get('reason') or ''}".rstrip(" -"))


@hookimpl
def sla_breached(task: TaskView, level: str) -> None:
    state = "is overdue" if level == "overdue" else "is escalated: overdue past the escalation time"
    post(f"Follow-up #{task['id']} ({task.get('owner') or 'unassigned'}) {state}")
