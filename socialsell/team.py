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

from socialsell.errors import ConfigError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.config import Workspace

ROLES = ("marketer", "rep", "lead")


def members(workspace: Workspace) -> dict[str, tuple[str, str]]:
    """Everyone in ``[team]``: lower-cased name -> (name as written, role)."""
    team = workspace.section("team")
    out: dict[str, tuple[str, str]] = {}

    def add(name: object, role: str, key: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(workspace.config_path, key, "a person's name")
        if role not in ROLES:
            raise ConfigError(workspace.config_path, key, f"a role: one of {', '.join(ROLES)}, not {role!r}")
        out.setdefault(name.strip().lower(), (name.strip(), role))

    if team.get("lead") is not None:
        add(team["lead"], "lead", "team.lead")
    for i, rep in enumerate(team.get("reps", []) or []):
        if isinstance(rep, dict):
            add(rep.get("name"), str(rep.get("role", "rep")), f"team.reps[{i}].role")
    for i, name in enumerate(team.get("marketers", []) or []):
        add(name, "marketer", f"team.marketers[{i}]")
    for i, name in enumerate(_list(workspace, "approvers")):
        add(name, "marketer", f"team.approvers[{i}]")  # an approver not named elsewhere markets
    return out


def _list(workspace: Workspace, key: str) -> list[str]:
    value = workspace.section("team").get(key, [])
    if not isinstance(value, list):
        raise ConfigError(workspace.config_path, f"team.{key}", "a list of names")
    return value


def approvers(workspace: Workspace) -> list[str]:
    """Who may approve posts: ``[team] approvers``, else the lead."""
    named = _list(workspace, "approvers")
    lead = workspace.section("team").get("lead")
    return [str(n) for n in named] if named else ([str(lead)] if lead else [])


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
        raise UsageError(f"--as {name!r} is not in the team: {names} (add them under [team] in {workspace.config_path.name})")
    return found[0]


def check_approver(workspace: Workspace, actor: str, author: str | None) -> None:
    """A post needing approval is approved by an approver other than its author."""
    allowed = approvers(workspace)
    if allowed and actor.lower() not in {a.lower() for a in allowed}:
        raise UsageError(f"{actor} may not approve posts (approvers: {', '.join(allowed)}; [team] approvers)")
    if author and author.lower() == actor.lower():
        raise UsageError(f"{actor} wrote this post: another approver must approve it ({', '.join(allowed) or 'anyone else'})")
