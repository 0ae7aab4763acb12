"""Commands of the serve stage: serve (the web app) and user (its accounts)."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from temoin.cli.main import State, pass_state
from temoin.cli.output import emit_json, err, json_option, out, shown


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="Background job threads.")
@click.option(
    "--max-upload",
    "max_upload",
    default=4 * 1024**3,
    show_default=True,
    type=int,
    help="Largest file accepted, in bytes (413 above).",
)
@click.option(
    "--redact/--no-redact",
    default=True,
    show_default=True,
    help="Cover faces on new material as soon as it is ingested.",
)
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Trust X-Forwarded-Proto/For from a TLS proxy on this host (cookies become Secure).",
)
@pass_state
def serve(
    state: State,
    host: str,
    port: int,
    workers: int,
    max_upload: int,
    redact: bool,
    proxy_headers: bool,
) -> None:
    """Run the association's web app: witnesses upload and write entries, editors review and
    publish. Put it behind a TLS proxy (Caddy, nginx) before exposing it beyond this machine."""
    import uvicorn

    from temoin.serve.app import create_app
    from temoin.serve.config import ServeSettings

    archive = state.archive()
    settings = ServeSettings(
        workers=workers, max_upload_bytes=max_upload, redact_after_ingest=redact
    )
    app = create_app(archive, settings)
    err.print(
        f"serving {shown(archive.settings.name or archive.root.name)} on http://{host}:{port}/"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="127.0.0.1" if proxy_headers else None,
        log_level="warning",
    )


@click.group()
def user() -> None:
    """Accounts of the web app (witness, editor, admin)."""


@user.command(name="add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["witness", "editor", "admin"]))
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@pass_state
def user_add(state: State, name: str, role: str, password_stdin: bool) -> None:
    """Add an account; the password is asked twice unless given on stdin."""
    from temoin.serve.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    archive = state.archive()
    account = add_user(archive, name, role, password, by=archive.actor)
    out.print(f"added {shown(account.name)} ({account.role})")


@user.command(name="ls")
@json_option
@pass_state
def user_ls(state: State, as_json: bool) -> None:
    """Every account and its role."""
    from temoin.serve.users import list_users

    accounts = list_users(state.archive())
    if as_json:
        emit_json(accounts)
        return
    table = Table("name", "role", "added by", "", box=None)
    for a in accounts:
        table.add_row(
            shown(str(a["name"])),
            str(a["role"]),
            shown(str(a["created_by"])),
            "disabled" if a["disabled"] else "",
        )
    out.print(table)


@user.command(name="reset")
@click.argument("name")
@click.option("--hours", default=24, show_default=True, type=int, help="How long the link works.")
@pass_state
def user_reset(state: State, name: str, hours: int) -> None:
    """Print a one-time link that lets NAME set a new password (no e-mail is sent)."""
    from temoin.serve.users import issue_reset

    archive = state.archive()
    token = issue_reset(archive, name, by=archive.actor, hours=hours)
    out.print(f"/reset/{token}")
    err.print(
        f"open it on the web app's address, within {hours} h; it works once "
        "and replaces any earlier link for this account"
    )


COMMANDS = [serve, user]
