"""Reports to hand around: one self-contained HTML file (and a Markdown summary) per comparison or sweep.

The HTML embeds its images as data URIs and its style inline, and has no scripts and no links out,
so it opens offline and prints as it shows. A comparison's report leads with the answer (the
headline: scenarios ranked, the reference set apart, any hypotheses' verdicts), then a short
contents, the plots, the tables of likelihoods with 95% intervals and of differences from the
reference, what each scenario changes; what was run (files, hashes, seeds, versions) and every
statement's source (the quote and its line in the seed document, or the stated assumption) close it
as appendices. Differences of two independent proportions use Newcomb's hybrid score
interval (Newcomb 1998), which behaves at shares near 0 and 1.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.atomic import write_text
from sim.engine.outcomes import NO_DEAL
from sim.outputs import headline, question
from sim.outputs.files import DIFFERENCE_INTERVALS, INTERVALS, versions, write_csv
from sim.outputs.narrative import statement, where
from sim.outputs.plots import (
    AGREEMENT,
    Runs,
    class_label,
    class_labels,
    compared_classes,
    plot_compare,
    ranked,
    union_classes,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import pandas as pd

    from sim.scenario import Scenario

Table = tuple[list[str], list[list[str]]]  # header, rows of cell text (not yet escaped)
# manifest keys a sweep report already shows in its run table or versions line
SHOWN = {"scenario", "file", "scenario_sha256", "seed", "replications", "horizon_days", "grid", "axes"}
SHOWN |= {"versions", "title"}

NAMES = {"mesa": "Mesa", "numpy": "NumPy", "scipy": "SciPy", "matplotlib": "Matplotlib"}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d1d1d;
       max-width: 68rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
h3 { margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .86rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
thead { display: table-header-group; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: .85rem; color: #555; }
blockquote { margin: 0; padding-left: .6rem; border-left: 3px solid #9ab; font-style: italic; }
.where, .note { font-size: .8rem; color: #555; }
.hash { font-family: monospace; font-size: .75rem; word-break: break-all; }
pre { white-space: pre-wrap; font-size: .8rem; background: #f7f7f7; padding: .5rem; }
p.answer { font-size: 1.15rem; }
nav.contents ol { margin: .2rem 0; } nav.contents { font-size: .9rem; }
tr.reference td { border-bottom: 3px double #555; background: #f6f8fb; }
.tag { font-size: .7rem; text-transform: uppercase; letter-spacing: .04em; border: 1px solid #555;
       border-radius: 3px; padding: 0 .25rem; margin-left: .3rem; }
.rank { color: #555; font-size: .75rem; }
td.verdict { font-weight: bold; } td.held { color: #0a5b8a; } td.contrary { color: #a13b00; }
@page { margin: 15mm; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  figure, tr, blockquote, pre, .scenario { break-inside: avoid; page-break-inside: avoid; }
  table.small, section.keep { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
}
"""


# ---------------------------------------------------------------- HTML scaffolding


def page(title: str, sections: list[str]) -> str:
    """A complete HTML document: inline style, no scripts, nothing fetched."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def section(title: str, *parts: str, keep: bool = False, anchor: str = "") -> str:
    """A titled section; ``keep`` holds a short one on one printed page with its heading."""
    ident = f' id="{escape(anchor)}"' if anchor else ""
    return (
        f"<section{ident}{_class('keep' if keep else '')}>\n<h2>{escape(title)}</h2>\n"
        + "\n".join(parts)
        + "\n</section>"
    )


def para(text: str, cls: str = "") -> str:
    return f"<p{_class(cls)}>{escape(text)}</p>"


def html_table(table: Table, kinds: list[str] | None = None) -> str:
    """A table; ``kinds`` gives each column's cell class (default: a label, then numbers)."""
    header, rows = table
    kinds = kinds or ["", *["num"] * (len(header) - 1)]
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join(
        "<tr>"
        + "".join(f"<td{_class(k)}>{escape(c)}</td>" for k, c in zip(kinds, row, strict=True))
        + "</tr>"
        for row in rows
    )
    # a short table should not split across pages; a long one has to
    cls = ' class="small"' if len(rows) <= 25 else ""
    return f"<table{cls}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _class(kind: str) -> str:
    return f' class="{kind}"' if kind else ""


def md_table(table: Table) -> str:
    header, rows = table
    lines = [_md_row(header), "|" + "---|" * len(header)]
    return "\n".join(lines + [_md_row(r) for r in rows])


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(_md(c).replace("|", "\\|") for c in cells) + " |"  # a bare pipe ends a cell


def _md(text: str) -> str:
    """Markdown passes HTML through: escape it so a title such as '<x>' shows as written."""
    return escape(text, quote=False)


def figure(path: Path, caption: str) -> str:
    """A PNG embedded as a data URI, so the report is one file."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def versions_text(executor: str | None = None, wall: float | None = None) -> str:
    v = versions()
    text = ", ".join(f"{NAMES.get(k, k)} {x}" for k, x in v.items())
    if executor:
        text += f"; executor {executor}"
    if wall is not None:
        text += f"; wall time {wall:.1f} s"
    return text + "."


def file_header(sc: Scenario) -> str:
    """The comment block at the top of a scenario file: what it changes and why."""
    try:
        lines = Path(sc.path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    head = []
    for line in lines:
        if not line.startswith("#"):
            break
        head.append(line.removeprefix("#").strip())
    return "\n".join(head).strip()


def scenario_block(sc: Scenario) -> str:
    """Title, summary and file header of one scenario."""
    parts = [f'<div class="scenario"><h3>{escape(sc.name)}: {escape(sc.title)}</h3>', para(sc.summary)]
    if header := file_header(sc):
        parts.append(f"<pre>{escape(header)}</pre>")
    return "\n".join(parts) + "</div>"


def run_table(scenarios: list[Scenario]) -> str:
    header = ["Scenario", "File", "Seed", "Replications", "Horizon (days)", "SHA-256"]
    rows = [
        [
            sc.name,
            Path(sc.path).name,
            str(sc.seed),
            f"{sc.replications:,}",
            str(sc.calendar.horizon_days),
            sc.sha256,
        ]
        for sc in scenarios
    ]
    return html_table((header, rows), ["", "", "num", "num", "num", "hash"])


def provenance_html(sc: Scenario, item: Any) -> str:
    if item.source is None:
        return f"Assumption: {escape(item.assumption)}"
    quote, at = escape(item.source.quote), escape(where(sc, item))
    return f'<blockquote>{quote}</blockquote><span class="where">{at}</span>'


def sources_html(sc: Scenario, base: Scenario | None = None) -> str:
    """Every statement with its provenance; with ``base``, only those that differ from it."""
    known = dict(base.sources()) if base is not None else {}
    rows, same = [], 0
    for path, item in sc.sources():
        if known.get(path) == item:
            same += 1
            continue
        what = f"<b>{escape(path)}</b><br>{escape(statement(item))}"
        rows.append(f"<tr><td>{what}</td><td>{provenance_html(sc, item)}</td></tr>")
    out = [f'<div class="sources"><h3>{escape(sc.name)}</h3>']
    if rows:
        out.append("<table>\n<thead><tr><th>Statement</th><th>Source or assumption</th></tr></thead>")
        out.append("<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")
    if same:
        out.append(para(f"The other {same} statements are as in {base.name if base else ''}, above.", "note"))
    return "\n".join(out) + "</div>"


# ---------------------------------------------------------------- comparison tables


def baseline_name(runs: Runs) -> str:
    """A reference when none is given: the scenario named 'baseline', else the first."""
    return "baseline" if "baseline" in runs else next(iter(runs))


def outcome_order(runs: Runs) -> list[str]:
    return [*union_classes(runs), NO_DEAL, AGREEMENT]


def summary_frame(runs: Runs, reference: str | None = None) -> pd.DataFrame:
    """One row per scenario and outcome: the deal classes and no agreement (``kind`` = class, their
    shares sum to 1), then any agreement (``kind`` = total, id ``any_agreement``); each with its
    difference from the reference and that difference's 95% interval (none for the reference)."""
    import pandas as pd
    from statsmodels.stats.proportion import confint_proportions_2indep

    reference = reference or baseline_name(runs)
    base = runs[reference][2].set_index("outcome")
    n0 = int(base["n"].iloc[0])
    labels = class_labels(runs)
    frames = []
    for name in ranked(runs, reference):
        sc, _, shares = runs[name]
        df = shares.copy()
        k0 = base["count"].reindex(df["outcome"], fill_value=0).to_numpy()
        df["diff"] = df["share"].to_numpy() - k0 / n0
        if name == reference:
            df["diff_lo"] = df["diff_hi"] = float("nan")
        else:
            lo, hi = confint_proportions_2indep(
                df["count"].to_numpy(), df["n"].to_numpy(), k0, n0, method="newcomb", compare="diff"
            )
            df["diff_lo"], df["diff_hi"] = np.asarray(lo), np.asarray(hi)
        df.insert(0, "kind", np.where(df["outcome"] == AGREEMENT, "total", "class"))
        df.insert(0, "label", [labels.get(o, o) for o in df["outcome"]])
        df.insert(0, "reference", name == reference)
        df.insert(0, "title", sc.title)
        df.insert(0, "scenario", name)
        frames.append(
            df[
                [
                    "scenario",
                    "title",
                    "reference",
                    "outcome",
                    *[c for c in df if c not in ("scenario", "title", "reference", "outcome")],
                ]
            ]
        )
    return pd.concat(frames, ignore_index=True)


def _pct(share: float, lo: float, hi: float, sign: bool = False) -> str:
    s = f"{100 * share:+.1f}" if sign else f"{100 * share:.1f}%"
    return f"{s} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _pivot(summary: pd.DataFrame, runs: Runs, cols: tuple[str, str, str], names: list[str]) -> Table:
    order, labels = outcome_order(runs), class_labels(runs)
    by = summary.set_index(["scenario", "outcome"])
    rows = []
    for name in names:
        cells = [runs[name][0].title]
        for o in order:
            if (name, o) in by.index:
                r = by.loc[(name, o)]
                cells.append(_pct(r[cols[0]], r[cols[1]], r[cols[2]], sign=cols[0] == "diff"))
            else:
                cells.append("-")
        rows.append(cells)
    return ["Scenario", *[labels[o] for o in order]], rows


def likelihood_table(summary: pd.DataFrame, runs: Runs, reference: str | None = None) -> Table:
    return _pivot(summary, runs, ("share", "lo", "hi"), ranked(runs, reference or baseline_name(runs)))


def difference_table(summary: pd.DataFrame, runs: Runs, reference: str | None = None) -> Table:
    reference = reference or baseline_name(runs)
    names = [n for n in ranked(runs, reference) if n != reference]
    return _pivot(summary, runs, ("diff", "diff_lo", "diff_hi"), names)


def run_rows(runs: Runs, manifest: dict[str, Any] | None) -> Table:
    """Appendix: file, seed, replications, compute time and content hash of every scenario."""
    compute = (manifest or {}).get("compute_seconds", {})
    header = ["Scenario", "File", "Seed", "Replications", "Horizon (days)", "Compute s", "SHA-256"]
    rows = [
        [
            name,
            Path(sc.path).name,
            str(sc.seed),
            f"{sc.replications:,}",
            str(sc.calendar.horizon_days),
            f"{compute[name]:.2f}" if name in compute else "",
            sc.sha256,
        ]
        for name, (sc, _, _) in runs.items()
    ]
    return header, rows


# ---------------------------------------------------------------- comparison report

CONTENTS = [
    ("headline", "Headline"),
    ("plots", "Plots"),
    ("likelihood", "Likelihood by outcome class"),
    ("difference", "Difference from the reference"),
    ("scenarios", "What each scenario changes"),
    ("run", "Appendix A: what was run"),
    ("sources", "Appendix B: sources"),
]


def contents_html() -> str:
    items = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in CONTENTS)
    return f'<nav class="contents"><b>Contents</b><ol>{items}</ol></nav>'


def write_compare(
    outdir: Path,
    runs: Runs,
    wall: float,
    executor: str,
    reference: str | None = None,
    why: str = "",
    verdicts=(),
    manifest: dict[str, Any] | None = None,
    firsts: dict[str, pd.DataFrame] | None = None,
    pool: Executor | None = None,
) -> Path:
    """Plots, summary.csv, report.md and a self-contained report.html for a comparison (with a
    local process ``pool``, the plots drawn there side by side).

    ``verdicts``: the scenarios' hypotheses with held / contrary / inconclusive (see
    :class:`sim.outputs.headline.Verdict`); shown first in the headline whenever there are any.
    ``firsts``: each run's first-in-force curves; with them the report leads with the reference's
    question and draws every class's curves across scenarios.
    """
    outdir = Path(outdir)
    reference = reference or baseline_name(runs)
    why = why or ("the scenario named baseline" if reference == "baseline" else "the first scenario given")
    summary = summary_frame(runs, reference)
    head = headline.build(runs, summary, reference, why, verdicts, firsts)
    q = head.question
    outcomes_png, curves_png, *class_pngs = plot_compare(
        outdir, runs, reference, firsts, q.lead if q is not None else AGREEMENT, pool
    )
    write_csv(outdir / "summary.csv", full_summary(runs, summary, q))
    likely, diff = likelihood_table(summary, runs, reference), difference_table(summary, runs, reference)
    ref_title = runs[reference][0].title
    names = ranked(runs, reference)
    scenarios = [runs[n][0] for n in names]
    intervals = f"Shares are the fraction of simulated worlds ending in each outcome; brackets: {INTERVALS}."
    differences = f"Percentage points against {ref_title}; brackets: {DIFFERENCE_INTERVALS}."
    base_sc = runs[reference][0]
    html = page(
        f"negsim comparison of {len(runs)} scenarios",
        [
            section("Headline", headline.headline_html(head), anchor="headline"),
            contents_html(),
            section(
                "Plots",
                figure(
                    outcomes_png,
                    "What is in force at the horizon, by scenario: the reference on top, then from most to "
                    "least likely agreement; the black bar is the 95% interval on any agreement.",
                ),
                figure(curves_png, _curves_caption(q, ref_title)),
                *[figure(p, _class_caption(p, runs, ref_title)) for p in class_pngs],
                anchor="plots",
            ),
            section(
                "Likelihood by outcome class",
                para(intervals, "note"),
                html_table(likely),
                keep=True,
                anchor="likelihood",
            ),
            section(
                f"Difference from the reference, {ref_title} (percentage points)",
                para(differences, "note"),
                html_table(diff) if diff[1] else para("Only one scenario was run."),
                keep=True,
                anchor="difference",
            ),
            section("What each scenario changes", *map(scenario_block, scenarios), anchor="scenarios"),
            section(
                "Appendix A: what was run",
                para(_about_run(runs, wall, executor, manifest)),
                html_table(run_rows(runs, manifest), ["", "", "num", "num", "num", "num", "hash"]),
                anchor="run",
            ),
            section(
                "Appendix B: sources",
                para("Every position, condition and red line, with the quote it rests on or its assumption."),
                sources_html(base_sc),
                *[sources_html(sc, base_sc) for sc in scenarios if sc is not base_sc],
                anchor="sources",
            ),
        ],
    )
    write_text(
        outdir / "report.md",
        _markdown(
            runs,
            head,
            likely,
            diff,
            intervals,
            differences,
            _about_run(runs, wall, executor, manifest),
            manifest,
        ),
    )
    return write_text(outdir / "report.html", html)


def _curves_caption(q: question.Question | None, ref_title: str) -> str:
    if q is None:
        return (
            "Share of worlds with any agreement in force on each day, one panel per scenario, "
            f"with 95% bands; dashed grey: the reference, {ref_title}."
        )
    label = q.labels.get(q.lead, q.lead)
    return (
        f"The question: {label}, first in force by each day (solid, 95% band) and in force on that day "
        f"(dotted), one panel per scenario; dashed grey: the reference, {ref_title}."
    )


def _class_caption(path: Path, runs: Runs, ref_title: str) -> str:
    outcome = Path(path).stem.removeprefix("curves_")
    label = class_labels(runs).get(outcome, outcome)
    return (
        f"{label}: first in force by each day (solid, 95% band) and in force on that day (dotted), "
        f"one panel per scenario; dashed grey: the reference, {ref_title}."
    )


def question_frame(q: question.Question) -> pd.DataFrame:
    """summary.csv's leading rows: the question's numbers for every scenario, with their differences
    from the reference (``kind`` first_by or in_force_on, ``day`` the day asked)."""
    import pandas as pd

    rows = []
    for a in q.answers:
        for kind, cid, day in q.asked():
            count, n, share, lo, hi = a.cells[(kind, cid, day)]
            d = a.diffs[(kind, cid, day)]
            diff = (0.0, float("nan"), float("nan")) if d is None else d
            rows.append(
                {
                    "scenario": a.name,
                    "title": a.title,
                    "reference": a.reference,
                    "outcome": cid,
                    "label": q.labels.get(cid, cid),
                    "kind": kind,
                    "day": day,
                    "count": count,
                    "n": n,
                    "share": share,
                    "lo": lo,
                    "hi": hi,
                    "diff": diff[0],
                    "diff_lo": diff[1],
                    "diff_hi": diff[2],
                }
            )
    return pd.DataFrame(rows)


def full_summary(runs: Runs, summary: pd.DataFrame, q: question.Question | None) -> pd.DataFrame:
    """The question's rows first, then the classes and the total at the horizon (``day`` = horizon)."""
    import pandas as pd

    out = summary.copy()
    horizon = {name: sc.calendar.horizon_days for name, (sc, _, _) in runs.items()}
    out.insert(out.columns.get_loc("kind") + 1, "day", out["scenario"].map(horizon))
    if q is None:
        return out
    return pd.concat([question_frame(q)[list(out.columns)], out], ignore_index=True)


def _about_run(runs: Runs, wall: float, executor: str, manifest: dict[str, Any] | None) -> str:
    m = manifest or {}
    text = f"{len(runs)} scenarios; {versions_text(executor, wall)}"
    if m.get("command"):
        text += f" Command: {m['command']}."
    if m.get("python"):
        text += f" Python {m['python']} on {m.get('platform', '')}."
    if m.get("git_commit"):
        text += f" Commit {m['git_commit']}."
    return text


def _markdown(
    runs: Runs,
    head: headline.Headline,
    likely: Table,
    diff: Table,
    intervals: str,
    differences: str,
    about_run: str,
    manifest: dict[str, Any] | None,
) -> str:
    ref_title = runs[head.reference][0].title
    lines = [
        f"# negsim comparison of {len(runs)} scenarios",
        "",
        "## Headline",
        "",
        headline.headline_md(head),
    ]
    lines += ["", "Contents: " + " · ".join(t for _, t in CONTENTS[1:]), ""]
    lines += [
        "## Plots",
        "",
        "![Outcome by scenario](outcomes.png)",
        "",
        "![The question, first in force by day, by scenario](curves.png)",
    ]
    lines += (
        ["", *[f"![{o} by day, by scenario](curves_{o}.png)" for o in compared_classes(runs)]]
        if head.question
        else []
    )
    lines += ["", "## Likelihood by outcome class", "", intervals, "", md_table(likely)]
    if diff[1]:
        lines += ["", f"## Difference from the reference, {_md(ref_title)} (percentage points)", ""]
        lines += [differences, "", md_table(diff)]
    lines += ["", "## What each scenario changes", ""]
    lines += [
        f"- **{_md(runs[n][0].title)}** ({_md(n)}): {_md(runs[n][0].summary)}"
        for n in ranked(runs, head.reference)
    ]
    lines += ["", "## Appendix A: what was run", "", _md(about_run), ""]
    lines += [md_table(run_rows(runs, manifest))]
    lines += ["", "## Appendix B: sources", "", "The source of every statement is in report.html.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- sweep report


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        if len(v) > 6:  # a grid: its ends and size say enough
            return f"{_cell(v[0])} to {_cell(v[-1])} ({len(v)} values)"
        return ", ".join(map(_cell, v))
    if isinstance(v, dict):
        return "; ".join(f"{k} {_cell(x)}" for k, x in v.items())
    return "" if v is None else str(v)


def _caption(sc: Scenario, image: Path) -> str:
    """A heatmap's caption names its outcome class; other images their file."""
    stem = image.stem
    if stem.startswith("heatmap_"):
        return f"{class_label(sc, stem.removeprefix('heatmap_'))}: share of worlds over the grid"
    if stem == "sweep":
        return "Likelihood of each outcome against the varied parameter, with 95% bands"
    return stem.replace("_", " ")


def grid_table(grid: dict[str, Any]) -> Table:
    """What a sweep varied: one row per parameter with its range and the scenario's own value."""
    rows = []
    for path, axis in grid.items():
        values = list(axis.get("values", [])) if isinstance(axis, dict) else list(axis)
        base = axis.get("baseline") if isinstance(axis, dict) else None
        ends = [_cell(values[0]), _cell(values[-1])] if values else ["", ""]
        rows.append([path, *ends, str(len(values)), _cell(base)])
    return ["Varied parameter", "From", "To", "Points", "Scenario's value"], rows


def write_sweep_report(
    outdir: Path, sc: Scenario, sweep: pd.DataFrame, images: list[Path], meta: dict, max_rows: int = 1000
) -> Path:
    """A self-contained report.html for a sweep: what was varied, the plots, the table, the sources."""
    outdir = Path(outdir)
    grid = meta.get("grid") if isinstance(meta.get("grid"), dict) else {}
    rest = {k: v for k, v in meta.items() if k not in SHOWN}
    settings: Table = (["Setting", "Value"], [[str(k), _cell(v)] for k, v in rest.items()])
    header = list(map(str, sweep.columns))
    frame: Table = (header, [[_cell(v) for v in r] for r in sweep.head(max_rows).itertuples(index=False)])
    kinds = ["num" if t.kind in "iuf" else "" for t in sweep.dtypes]
    cut = [para(f"First {max_rows:,} of {len(sweep):,} rows; all rows are in sweep.csv.", "note")]
    html = page(
        f"negsim sweep of {sc.name}",
        [
            section(
                "What was run",
                para(versions_text()),
                run_table([sc]),
                *([html_table(grid_table(grid))] if grid else []),
                html_table(settings, ["", ""]),
                scenario_block(sc),
            ),
            section("Plots", *[figure(p, _caption(sc, Path(p))) for p in images]),
            section(
                "Sweep results",
                html_table(frame, kinds),
                *(cut if len(sweep) > max_rows else []),
            ),
            section("Sources", sources_html(sc)),
        ],
    )
    return write_text(outdir / "report.html", html)
