"""Who is who in ``[team]``: roles (marketer, rep, lead), approvers, and ``--as`` names.

::

    [team]
    lead = "morgan"                   # role lead
    marketers = ["mia"]               # role marketer
    approvers = ["morgan"]            # who may approve posts (default: the lead)
    [[team.reps]]
    name = "alice"                    # role rep (or role = "lead" / "marketer")

This is accountability inside a team sharing one database, not authentication: ``--as`` says
who is acting, so changes are recorded under that name and the rules below apply to it, but
anyone with the database can act as anyone (docs/operations.md, "Who may do what").
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from socialsell.errors import ConfigError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.workspace import Workspace

ROLES = ("marketer", "rep", "lead")


def members(workspace: Workspace) -> dict[str, tuple[str, str]]:
    """Everyone in ``[team]``: lower-cased name -> (name as written, role)."""
    team = workspace.settings.team
    out: dict[str, tuple[str, str]] = {}

    def add(name: str, role: str, key: str) -> None:
        if role not in ROLES:
            raise ConfigError(workspace.config_path, key, f"a role: one of {', '.join(ROLES)}, not {role!r}")
        out.setdefault(name.strip().lower(), (name.strip(), role))

    if team.lead:
        add(team.lead, "lead", "team.lead")
    for i, rep in enumerate(team.reps):
        add(rep.name, rep.role or "rep", f"team.reps[{i}].role")
    for name in team.marketers:
        add(name, "marketer", "team.marketers")
    for name in team.approvers:
        add(name, "marketer", "team.approvers")  # an approver not named elsewhere markets
    return out


def approvers(workspace: Workspace) -> list[str]:
    """Who may approve posts: ``[team] approvers``, else the lead."""
    team = workspace.settings.team
    return list(team.approvers) if team.approvers else ([team.lead] if team.lead else [])


def role_of(workspace: Workspace, name: str) -> str | None:
    found = members(workspace).get(name.strip().lower())
    return found[1] if found else None


def resolve_actor(workspace: Workspace, name: str) -> str:
    """``--as NAME``: the team member's name as written in ``[team]`` (case-insensitive).
    An unknown name is refused, naming the team; with no ``[team]`` any name goes."""
    team = members(workspace)
    if not team:
        return name
    found = team.get(name.strip().lower())
    if found is None:
        names = ", ".join(f"{n} ({role})" for n, role in sorted(team.values()))
        raise UsageError(f"{workspace.config_path.name}: --as {name!r} is not in [team]: {names} (add them there)")
    return found[0]


def check_approver(workspace: Workspace, actor: str, author: str | None) -> None:
    """A post needing approval is approved by an approver other than its author."""
    allowed = approvers(workspace)
    if allowed and actor.lower() not in {a.lower() for a in allowed}:
        raise UsageError(f"{actor} may not approve posts (approvers: {', '.join(allowed)}; [team] approvers)")
    if author and author.lower() == actor.lower():
        raise UsageError(f"{actor} wrote this post: another approver must approve it ({', '.join(allowed) or 'anyone else'})")


def timezone_of(workspace: Workspace, name: str | None) -> ZoneInfo:
    """A person's time zone (``[[team.reps]] timezone``, checked at load), else the workspace's:
    what they read and type times in. SLA business hours stay in the workspace's zone."""
    for rep in workspace.team:
        if name and rep.name.lower() == name.lower() and rep.timezone:
            return ZoneInfo(rep.timezone)
    return workspace.timezone


def rep_tz(app: App) -> ZoneInfo:
    """The acting person's time zone (:func:`timezone_of`)."""
    return timezone_of(app.workspace, app.actor)
