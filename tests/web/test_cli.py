"""`voltline user …`: operators for the dashboard, from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from voltline.services.security.operators import UserService
from voltline.store.database import Store
from voltline.user_cli import user_app

runner = CliRunner()


def test_create_list_password_and_delete(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    created = runner.invoke(user_app, ["create", "alice", "--password", "first-password", "--database-url", url])
    assert created.exit_code == 0, created.output
    again = runner.invoke(user_app, ["create", "alice", "--password", "first-password", "--database-url", url])
    assert again.exit_code == 1 and "exists already" in again.output
    short = runner.invoke(user_app, ["create", "bob", "--password", "short", "--database-url", url])
    assert short.exit_code == 1 and "at least 8" in short.output
    listed = runner.invoke(user_app, ["list", "--database-url", url])
    assert "alice" in listed.output and "bob" not in listed.output
    changed = runner.invoke(user_app, ["password", "alice", "--database-url", url], input="second-password\nsecond-password\n")
    assert changed.exit_code == 0, changed.output

    async def check() -> tuple[object, object]:
        store = Store(url)
        try:
            users = UserService(store)
            return await users.authenticate("alice", "second-password"), await users.authenticate("alice", "first-password")
        finally:
            await store.close()

    good, old = asyncio.run(check())
    assert good is not None and old is None
    assert runner.invoke(user_app, ["delete", "alice", "--database-url", url]).exit_code == 0
    assert runner.invoke(user_app, ["delete", "alice", "--database-url", url]).exit_code == 1
