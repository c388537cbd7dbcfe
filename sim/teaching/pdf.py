"""PDFs for printing, from the same HTML pages the browser shows.

Chromium's own print-to-PDF (driven by Playwright) lays out the page exactly as the browser prints
it, so a role sheet, the worksheet, a handout or the debrief is one document in two formats and the
two cannot disagree. Chromium is the system's (Debian's ``chromium``; ``NEGSIM_CHROMIUM`` names
another executable); Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from sim.atomic import atomic_path
from sim.errors import UserError

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    """The Chromium executable to print with; a one-line UserError if there is none."""
    named = os.environ.get("NEGSIM_CHROMIUM")
    found = named or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        raise UserError(
            "PDFs are printed with Chromium: install it (Debian: apt-get install chromium) "
            "or name it with NEGSIM_CHROMIUM"
        )
    return found


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UserError('PDFs need Playwright: pip install "negsim[pdf]"') from None
    return sync_playwright


def require() -> None:
    """Refuse, before anything is written, a PDF that could not be printed."""
    chromium()
    _playwright()


def print_pdfs(pages: Iterable[tuple[Path, Path]]) -> list[Path]:
    """Print each HTML file to its PDF (A4, backgrounds on); each PDF is whole or absent."""
    pages = [(Path(h), Path(p)) for h, p in pages]
    executable = chromium()
    written = []
    with _playwright()() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page()
            for html_path, pdf_path in pages:
                page.goto(html_path.resolve().as_uri(), wait_until="load")
                page.emulate_media(media="print")
                with atomic_path(pdf_path) as tmp:
                    page.pdf(
                        path=str(tmp),
                        format="A4",
                        print_background=True,
                        margin={"top": "15mm", "bottom": "15mm", "left": "15mm", "right": "15mm"},
                    )
                written.append(pdf_path)
        finally:
            browser.close()
    return written


def beside(html_files: Iterable[Path]) -> list[Path]:
    """Print each HTML file to a PDF of the same name beside it."""
    return print_pdfs((h, Path(h).with_suffix(".pdf")) for h in html_files)
