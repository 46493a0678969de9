"""`voltline user ...`: the operators who may log in to the dashboard."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Optional, TypeVar

import typer

from voltline.services.security.operators import UnknownUser, UserExists, UserService

T = TypeVar("T")

user_app = typer.Typer(help="Operators who may log in to the dashboard.", no_args_is_help=True)

ConfigOption = Annotated[Optional[str], typer.Option("--config", help="a TOML settings file")]
DatabaseOption = Annotated[
    Optional[str], typer.Option("--database-url", help="sqlite:///path or postgresql://… (env VOLTLINE_DATABASE_URL)")
]


def _with_users(config: str | None, database_url: str | None, action: Callable[[UserService], Awaitable[T]]) -> T:
    from voltline.app import operator_users
    from voltline.cli import load_settings  # a bad setting: one line, like every command

    settings = load_settings(config, database_url=database_url)

    async def run() -> T:
        async with operator_users(settings) as users:
            return await action(users)

    return asyncio.run(run())


def _password(given: str | None) -> str:
    if given is not None:
        return given
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def user_create(
    username: str,
    password: Annotated[
        Optional[str], typer.Option(help="the password (asked for when left out; env VOLTLINE_USER_PASSWORD)",
                                    envvar="VOLTLINE_USER_PASSWORD")
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create an operator who may log in to the dashboard."""
    secret = _password(password)
    try:
        user: Any = _with_users(config, database_url, lambda users: users.create(username, secret))
    except UserExists:
        typer.echo(f"user {username!r} exists already", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created user {user.username}")


@user_app.command("list")
def user_list(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """List the operators."""
    for user in _with_users(config, database_url, lambda users: users.list()):
        typer.echo(f"{user.username}\tcreated {user.created_at:%Y-%m-%d %H:%M}")


@user_app.command("password")
def user_password(
    username: str,
    password: Annotated[
        Optional[str], typer.Option(help="the new password (asked for when left out; env VOLTLINE_USER_PASSWORD)",
                                    envvar="VOLTLINE_USER_PASSWORD")
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Set an operator's password."""
    secret = _password(password)
    try:
        _with_users(config, database_url, lambda users: users.set_password(username, secret))
    except UnknownUser:
        typer.echo(f"no user {username!r}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"changed the password of {username}")


@user_app.command("delete")
def user_delete(username: str, config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Delete an operator; their dashboard sessions end with their next request."""
    try:
        _with_users(config, database_url, lambda users: users.delete(username))
    except UnknownUser:
        typer.echo(f"no user {username!r}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"deleted user {username}")
