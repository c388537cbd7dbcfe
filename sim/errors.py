"""Errors that are the user's to fix: the CLI prints them in one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A mistake in what the user asked for (an option, a path, a value)."""


class ScenarioError(UserError):
    """A user's mistake in a scenario file: one line naming the file, the field and what is allowed."""

    def __init__(self, file: str | Path, where: str, message: str) -> None:
        self.file, self.where, self.message = str(file), where, message
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")
