"""Printable HTML from the small Markdown the teaching documents are written in.

Handouts are written once, as Markdown (readable in a terminal and on a code host), and turned into
one self-contained HTML page for printing. Only what the generated documents use is understood:
headings, paragraphs, bullet lists (two levels), tables, ``**bold**``, ``*italic*``, ``code``,
images, and a line ``---`` which starts a new printed page.
"""

from __future__ import annotations

import html
import re

CSS = """
body { font-family: Georgia, 'DejaVu Serif', serif; max-width: 46em; margin: 2em auto; padding: 0 1em;
       line-height: 1.35; color: #111; }
h1 { font-size: 1.5em; border-bottom: 2px solid #333; } h2 { font-size: 1.2em; margin-top: 1.2em; }
h3 { font-size: 1.05em; }
h1, h2, h3 { break-after: avoid; page-break-after: avoid; }  /* a heading stays with its text */
tr, li { break-inside: avoid; }
table { border-collapse: collapse; margin: 0.6em 0; } td, th { border: 1px solid #999; padding: 0.2em 0.5em; }
th { background: #eee; } code { font-family: 'DejaVu Sans Mono', monospace; font-size: 0.9em; }
li { margin: 0.15em 0; } li li { color: #444; font-size: 0.92em; }
img { max-width: 100%; }
.page { break-after: page; page-break-after: always; border: 0; }
@media print { body { margin: 0; max-width: none; font-size: 10.5pt; } .page { visibility: hidden; } }
"""


def inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r'<img alt="\1" src="\2">', out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", out)
    return out


def to_html(markdown: str, title: str) -> str:
    """One printable page (or several, split at ``---``) from Markdown."""
    body: list[str] = []
    para: list[str] = []
    lists: list[int] = []  # indent of each open <ul>
    table: list[list[str]] = []

    def close_para() -> None:
        if para:
            body.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()

    def close_lists(to: int = -1) -> None:
        while lists and lists[-1] > to:
            lists.pop()
            body.append("</li></ul>")

    def close_table() -> None:
        if not table:
            return
        head, *rows = table
        rows = [r for r in rows if not all(re.fullmatch(r":?-{2,}:?", c.strip()) for c in r)]
        body.append("<table><tr>" + "".join(f"<th>{inline(c.strip())}</th>" for c in head) + "</tr>")
        for r in rows:
            body.append("<tr>" + "".join(f"<td>{inline(c.strip())}</td>" for c in r) + "</tr>")
        body.append("</table>")
        table.clear()

    def close_all() -> None:
        close_para()
        close_lists()
        close_table()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if not stripped:
            close_para()
            close_table()
            continue
        if stripped.startswith("|") and stripped.endswith("|"):
            close_para()
            close_lists()
            table.append(stripped[1:-1].split("|"))
            continue
        close_table()
        if stripped == "---":
            close_all()
            body.append('<hr class="page">')
            continue
        m = re.match(r"(#{1,4}) (.*)", stripped)
        if m and indent == 0:
            close_all()
            n = len(m.group(1))
            body.append(f"<h{n}>{inline(m.group(2))}</h{n}>")
            continue
        m = re.match(r"[-*] (.*)", stripped)
        if m:
            close_para()
            if lists and indent == lists[-1]:
                body.append("</li><li>")
            elif not lists or indent > lists[-1]:
                lists.append(indent)
                body.append("<ul><li>")
            else:
                close_lists(indent)
                body.append("</li><li>" if lists else "<ul><li>")
                if not lists:
                    lists.append(indent)
            body.append(inline(m.group(1)))
            continue
        if lists and indent > lists[-1]:  # a list item's continuation line
            body.append(" " + inline(stripped))
            continue
        close_lists()
        para.append(stripped)
    close_all()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
