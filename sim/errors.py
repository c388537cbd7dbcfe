"""Errors that are the user's to fix: the CLI prints them in one line and exits with code 2."""


class UserError(Exception):
    """A mistake in what the user asked for (an option, a path, a value)."""
