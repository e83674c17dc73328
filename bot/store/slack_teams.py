"""Which Enterprise Grid org each Slack workspace belongs to, beside slack_sdk's installations.

slack_sdk's installation store finds a bot by (enterprise, team), but a subscription
keeps only its workspace (the team id), so a workspace of an Enterprise Grid org was
looked up as if it had no org and never got alerts (#17). Two things say which org:

- The requests from that workspace (slash commands, forms) carry its ``enterprise_id``
  and whether the app is installed on the whole org; the Slack app remembers them in
  ``jobbot_slack_teams``. This is the only way to find an org-wide installation, which
  slack_sdk saves under the org alone (no team).
- A workspace-level install in a Grid org is saved by slack_sdk with both ids; it is
  found in ``slack_bots`` by its team whatever its org, so workspaces installed before
  any command came from them get alerts too.

The table lives in the installation database (``slack-installations.db``), not in the
main store: it belongs with the installations it points at, and it needs no migration
of the store. Calls block; async code runs them in a thread.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SlackTeams", "TeamOrg"]

_CREATE = """
create table if not exists jobbot_slack_teams (
    client_id text not null,
    team_id text not null,
    enterprise_id text not null default '',
    is_enterprise_install integer not null default 0,
    seen_at text not null default current_timestamp,
    primary key (client_id, team_id)
)
"""
_REMEMBER = """
insert into jobbot_slack_teams (client_id, team_id, enterprise_id, is_enterprise_install)
values (?, ?, ?, ?)
on conflict (client_id, team_id) do update set
    enterprise_id = excluded.enterprise_id,
    is_enterprise_install = excluded.is_enterprise_install,
    seen_at = current_timestamp
"""
_SEEN = """
select enterprise_id, is_enterprise_install from jobbot_slack_teams
where client_id = ? and team_id = ?
"""
# slack_sdk's own table (SQLite3InstallationStore): the team's latest workspace install.
_INSTALLED = """
select enterprise_id, is_enterprise_install from slack_bots
where client_id = ? and team_id = ?
order by installed_at desc
limit 1
"""


@dataclass(frozen=True, slots=True)
class TeamOrg:
    """Where to look a workspace's bot up: its org (None: no Grid) and whether the app
    is installed on the whole org (then slack_sdk keeps the bot under the org alone)."""

    enterprise_id: str | None
    org_wide: bool = False


class SlackTeams:
    """The team → org map of one Slack app (``client_id``) in its installation database."""

    def __init__(self, database: Path, client_id: str) -> None:
        self.database = database
        self.client_id = client_id
        self._remembered: dict[str, TeamOrg] = {}
        self._created = False

    def _connect(self) -> sqlite3.Connection:
        # slack_sdk writes the same file; a short wait rides out its writes.
        conn = sqlite3.connect(self.database, timeout=10)
        if not self._created:
            with conn:
                conn.execute(_CREATE)
            self._created = True
        return conn

    def remember(self, team_id: str, enterprise_id: str | None, org_wide: bool) -> bool:
        """A request came from ``team_id`` of org ``enterprise_id``; True if it was news.

        Each process writes a team once (again only when its org or install changes).
        """
        org = TeamOrg(enterprise_id or None, org_wide)
        if self._remembered.get(team_id) == org:
            return False
        with closing(self._connect()) as conn, conn:
            conn.execute(_REMEMBER, (self.client_id, team_id, enterprise_id or "", org_wide))
        self._remembered[team_id] = org
        return True

    def candidates(self, team_id: str) -> list[TeamOrg]:
        """Where ``team_id``'s bot may be, most likely first: the org its requests named,
        its own install in any org, then no org at all (a workspace outside any Grid)."""
        found: list[TeamOrg] = []
        with closing(self._connect()) as conn:
            for query in (_SEEN, _INSTALLED):
                try:
                    row = conn.execute(query, (self.client_id, team_id)).fetchone()
                except sqlite3.OperationalError:
                    row = None  # slack_bots appears with the first installation
                if row is not None:
                    found.append(TeamOrg(row[0] or None, bool(row[1])))
        found.append(TeamOrg(None))
        return list(dict.fromkeys(found))
