"""What a web account sent is theirs by the account's id, not by a name the command line can use.

Before, a witness saw the items of every ingest run whose actor equalled their name, so an
account named like the OS user of the laptop (``root``) saw everything ingested from the command
line. Runs and jobs now carry the account's id. Existing web runs keep their owner: an upload's
run is the one its finished ingest job recorded, and an entry's run is the one that read a note
from the web app's entry folder under that account's name; command-line runs stay unowned.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# where the web app writes a dispatch entry before ingesting it (temoin/serve/routes/upload.py)
_ENTRY = re.compile(r"(?:^|/)uploads/entries/[0-9a-f]{16}/entry-[^/]*\.txt$")

users = sa.table("users", sa.column("id", sa.Integer), sa.column("name", sa.String))
jobs = sa.table(
    "jobs",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("actor", sa.String),
    sa.column("status", sa.String),
    sa.column("result", sa.JSON),
    sa.column("account_id", sa.Integer),
)
runs = sa.table(
    "runs",
    sa.column("id", sa.Integer),
    sa.column("actor", sa.String),
    sa.column("source", sa.String),
    sa.column("account_id", sa.Integer),
)
sightings = sa.table("sightings", sa.column("run_id", sa.Integer), sa.column("path", sa.String))


def upgrade() -> None:
    # plain ALTER TABLE (no batch copy): runs is the parent of sightings and rejects, and a
    # copy-and-drop of it would break their foreign keys
    for table in ("runs", "jobs"):
        op.add_column(table, sa.Column("account_id", sa.Integer()))
        op.create_index(f"ix_{table}_account_id", table, ["account_id"])
    _owners()


def _owners() -> None:
    bind = op.get_bind()
    accounts = {
        name: user_id for user_id, name in bind.execute(sa.select(users.c.id, users.c.name))
    }
    if not accounts:
        return
    # jobs are made only by the web app: their actor is an account's name
    for name, user_id in accounts.items():
        bind.execute(jobs.update().where(jobs.c.actor == name).values(account_id=user_id))
    owned: dict[int, str] = {}  # run id -> the account's name, which must be the run's actor
    done = sa.select(jobs.c.actor, jobs.c.result).where(
        jobs.c.name == "ingest", jobs.c.status == "done"
    )
    for actor, result in bind.execute(done):
        run = (result or {}).get("run")
        if isinstance(run, int) and actor in accounts:
            owned[run] = actor
    web_named = sa.select(runs.c.id, runs.c.actor).where(
        runs.c.actor == runs.c.source, runs.c.actor.in_(list(accounts))
    )
    for run_id, actor in bind.execute(web_named).all():
        paths = bind.execute(sa.select(sightings.c.path).where(sightings.c.run_id == run_id))
        if any(_ENTRY.search(str(path).replace("\\", "/")) for (path,) in paths):
            owned.setdefault(run_id, actor)
    for run_id, name in owned.items():
        bind.execute(
            runs.update()
            .where(runs.c.id == run_id, runs.c.actor == name)
            .values(account_id=accounts[name])
        )


def downgrade() -> None:
    for table in ("jobs", "runs"):
        op.drop_index(f"ix_{table}_account_id", table)
        op.drop_column(table, "account_id")
