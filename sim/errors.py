"""Errors that are the user's to fix: the CLI prints them in one line and exits with code 2.

Anything a user typed or a file holds may be echoed in a message only through :func:`show`, which
escapes control characters (a newline, an escape sequence) and shortens long text, so an error is
always one readable line.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from pathlib import Path

SHOWN_CHARS = 60  # user text longer than this is cut in the middle of a message


class UserError(Exception):
    """A mistake in what the user asked for (an option, a path, a value)."""


class ScenarioError(UserError):
    """A user's mistake in a scenario file: one line naming the file, the field and what is allowed."""

    def __init__(self, file: str | Path, where: str, message: str) -> None:
        self.file, self.where, self.message = str(file), where, message
        shown = show(str(file), 200)
        super().__init__(f"{shown}: {show(where, 120)}: {message}" if where else f"{shown}: {message}")


def escape(text: str) -> str:
    """``text`` with every control, format or line-separator character written as an escape."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def show(text: object, limit: int = SHOWN_CHARS) -> str:
    """User text fit for a one-line message: escaped, and cut to about ``limit`` characters."""
    s = escape(str(text))
    if len(s) <= limit:
        return s
    keep = max(limit - 1, 8)
    return f"{s[: keep * 2 // 3]}…{s[-(keep - keep * 2 // 3) :]} ({len(str(text)):,} characters)"


def one_line(message: str, limit: int = 600) -> str:
    """A whole message made safe to print as one line (the last guard; parts use :func:`show`)."""
    return show(message, limit)


def os_error_message(e: OSError) -> str:
    """One line for an operating-system error: the path (shortened) and why it failed."""
    reason = os.strerror(e.errno) if e.errno is not None else show(e, 120)
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        reason += " (free some space, or write elsewhere with --out)"
    elif e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason += " (choose a folder you can write to with --out)"
    where = f"{show(e.filename, 120)}: " if e.filename is not None else ""
    return f"{where}{reason}"
