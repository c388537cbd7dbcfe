"""Reports to hand around: one self-contained HTML file (and a Markdown summary) per comparison or sweep.

The HTML embeds its images as data URIs and its style inline, and has no scripts and no links, so
it opens offline and prints as it shows. It says what was run (files, hashes, seeds, versions),
shows the plots, tabulates likelihoods with 95% intervals and the difference of each scenario from
the baseline, and lists every statement's source: the quote and its line in the seed document, or
the stated assumption. Differences of two independent proportions use Newcomb's hybrid score
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
from sim.outputs.files import versions, write_csv
from sim.outputs.narrative import statement, where
from sim.outputs.plots import AGREEMENT, Runs, class_label, class_labels, plot_compare, union_classes

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario

Table = tuple[list[str], list[list[str]]]  # header, rows of cell text (not yet escaped)
# manifest keys a sweep report already shows in its run table or versions line
SHOWN = {"scenario", "file", "scenario_sha256", "seed", "replications", "horizon_days", "grid", "axes"}
SHOWN |= {"negsim_version", "mesa_version", "numpy_version"}

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


def section(title: str, *parts: str, keep: bool = False) -> str:
    """A titled section; ``keep`` holds a short one on one printed page with its heading."""
    return (
        f"<section{_class('keep' if keep else '')}>\n<h2>{escape(title)}</h2>\n"
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
    text = f"negsim {v['negsim']}, Mesa {v['mesa']}, NumPy {v['numpy']}, pandas {v['pandas']}"
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
    """The scenario every other is compared with: the one named 'baseline', else the first."""
    return "baseline" if "baseline" in runs else next(iter(runs))


def outcome_order(runs: Runs) -> list[str]:
    return [*union_classes(runs), NO_DEAL, AGREEMENT]


def summary_frame(runs: Runs) -> pd.DataFrame:
    """One row per scenario and outcome, with the difference from the baseline and its 95% interval."""
    import pandas as pd
    from statsmodels.stats.proportion import confint_proportions_2indep

    base = runs[baseline_name(runs)][2].set_index("outcome")
    frames = []
    for name, (_, _, shares) in runs.items():
        df = shares.copy()
        k0 = base["count"].reindex(df["outcome"], fill_value=0).to_numpy()
        n0 = int(base["n"].iloc[0])
        lo, hi = confint_proportions_2indep(
            df["count"].to_numpy(), df["n"].to_numpy(), k0, n0, method="newcomb", compare="diff"
        )
        df["diff"] = df["share"].to_numpy() - k0 / n0
        df["diff_lo"], df["diff_hi"] = np.asarray(lo), np.asarray(hi)
        df.insert(0, "scenario", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _pct(share: float, lo: float, hi: float, sign: bool = False) -> str:
    s = f"{100 * share:+.1f}" if sign else f"{100 * share:.1f}%"
    return f"{s} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _pivot(summary: pd.DataFrame, runs: Runs, cols: tuple[str, str, str], names: list[str]) -> Table:
    order, labels = outcome_order(runs), class_labels(runs)
    by = summary.set_index(["scenario", "outcome"])
    rows = []
    for name in names:
        cells = [name]
        for o in order:
            if (name, o) in by.index:
                r = by.loc[(name, o)]
                cells.append(_pct(r[cols[0]], r[cols[1]], r[cols[2]], sign=cols[0] == "diff"))
            else:
                cells.append("-")
        rows.append(cells)
    return ["Scenario", *[labels[o] for o in order]], rows


def likelihood_table(summary: pd.DataFrame, runs: Runs) -> Table:
    return _pivot(summary, runs, ("share", "lo", "hi"), list(runs))


def difference_table(summary: pd.DataFrame, runs: Runs) -> Table:
    base = baseline_name(runs)
    return _pivot(summary, runs, ("diff", "diff_lo", "diff_hi"), [n for n in runs if n != base])


# ---------------------------------------------------------------- comparison report


def verdict_table(verdicts: list[dict[str, Any]]) -> Table:
    """Each scenario hypothesis with its verdict and the numbers behind it."""
    head = ["scenario", "hypothesis", "expected", "scenario share", "against", "difference (95%)", "verdict"]
    rows = [
        [
            v["scenario"],
            v["hypothesis"],
            f"{v['outcome']} {v['direction']} by day {v['day']}",
            f"{100 * v['share']:.1f}%",
            f"{v['against']} {100 * v['parent_share']:.1f}%",
            _pct(v["diff"], v["lo"], v["hi"], sign=True),
            v["verdict"],
        ]
        for v in verdicts
    ]
    return head, rows


def write_compare(
    outdir: Path, runs: Runs, wall: float, executor: str, verdicts: list[dict[str, Any]] | None = None
) -> Path:
    """Plots, summary.csv, hypotheses.csv, report.md and a self-contained report.html for a comparison."""
    import pandas as pd

    outdir = Path(outdir)
    verdicts = verdicts or []
    outcomes_png, curves_png = plot_compare(outdir, runs)
    summary = summary_frame(runs)
    write_csv(outdir / "summary.csv", summary)
    write_csv(outdir / "hypotheses.csv", pd.DataFrame(verdicts))
    hyp = verdict_table(verdicts)
    likely, diff = likelihood_table(summary, runs), difference_table(summary, runs)
    base = baseline_name(runs)
    scenarios = [sc for sc, _, _ in runs.values()]
    about = f"{len(runs)} scenarios; {versions_text(executor, wall)}"
    intervals = (
        "Shares are the fraction of simulated worlds ending in each class; brackets give 95% Wilson "
        "intervals. Differences are in percentage points against the baseline with 95% Newcomb intervals."
    )
    base_sc = runs[base][0]
    html = page(
        f"negsim comparison of {len(runs)} scenarios",
        [
            section(
                "Scenario hypotheses",
                para(
                    "Each variant states what it expects against the scenario it extends: held when the 95% "
                    "interval of the difference excludes zero in the stated direction, contrary when it "
                    "excludes zero the other way, inconclusive otherwise."
                ),
                html_table(hyp)
                if hyp[1]
                else para("No scenario states a hypothesis, or its parent was not run."),
                keep=True,
            ),
            section("What was run", para(about), run_table(scenarios), *map(scenario_block, scenarios)),
            section(
                "Comparison",
                figure(
                    outcomes_png, "Outcome classes by scenario; error bars: 95% interval on any agreement."
                ),
                figure(
                    curves_png, "Share of worlds with any agreement in force, day by day, with 95% bands."
                ),
            ),
            section("Likelihood by outcome class", para(intervals, "note"), html_table(likely), keep=True),
            section(
                f"Difference from {base} (percentage points)",
                html_table(diff) if diff[1] else para("Only one scenario was run."),
                keep=True,
            ),
            section(
                "Sources",
                para("Every position, condition and red line, with the quote it rests on or its assumption."),
                sources_html(base_sc),
                *[sources_html(sc, base_sc) for sc in scenarios if sc is not base_sc],
            ),
        ],
    )
    write_text(outdir / "report.md", _markdown(runs, likely, diff, about, intervals, hyp))
    return write_text(outdir / "report.html", html)


def _markdown(runs: Runs, likely: Table, diff: Table, about: str, intervals: str, hyp: Table) -> str:
    base = baseline_name(runs)
    lines = [f"# negsim comparison of {len(runs)} scenarios", "", about, ""]
    if hyp[1]:
        lines += ["## Scenario hypotheses", "", md_table(hyp), ""]
    lines += [
        f"- **{_md(sc.name)}** ({_md(Path(sc.path).name)}): {_md(sc.title)}" for sc, _, _ in runs.values()
    ]
    lines += ["", "![Outcome classes by scenario](outcomes.png)", "", "![Cumulative agreement](curves.png)"]
    lines += ["", "## Likelihood by outcome class", "", intervals, "", md_table(likely)]
    if diff[1]:
        lines += ["", f"## Difference from {base} (percentage points)", "", md_table(diff)]
    lines += ["", "Sources of every statement, and the files' hashes: report.html.", ""]
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
