"""Files, plots and text of a calibration (``negsim calibrate``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from sim.atomic import write_with
from sim.outputs.analysis import text_table
from sim.outputs.files import write_csv
from sim.outputs.plots import _pyplot, save


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(float(v)) if math.isfinite(v) else "nan"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def posterior_toml(doc: dict[str, Any]) -> str:
    """The posterior document as TOML (top-level values first, then one table per parameter)."""
    lines = ["# negsim calibrate: the posterior of the scenario's calibrated assumptions"]
    for k, v in doc.items():
        if k != "parameters":
            lines.append(f"{k} = {_toml_value(v)}")
    for name, entry in doc["parameters"].items():
        lines += ["", f"[parameters.{json.dumps(name)}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def write_calibration(folder: Path, cal, table, ppc, manifest: dict) -> list[Path]:
    """posterior.toml (for --posterior), prior_posterior.csv, predictive.csv, particles.csv,
    populations.csv, manifest.json and calibration.png."""
    from sim.analysis.calibration import posterior_document

    folder = Path(folder)
    doc = posterior_document(cal, table)
    return [
        write_with(folder / "posterior.toml", lambda f: f.write(posterior_toml(doc))),
        write_csv(folder / "prior_posterior.csv", table),
        write_csv(folder / "predictive.csv", ppc),
        write_csv(folder / "particles.csv", cal.posterior),
        write_csv(folder / "populations.csv", cal.populations),
        write_with(folder / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=2) + "\n")),
        save(calibration_figure(cal, table), folder / "calibration.png"),
    ]


def format_calibration(cal, table, ppc) -> str:
    cols = [
        "parameter",
        "prior",
        "posterior_mean",
        "posterior_sd",
        "posterior_p5",
        "posterior_p95",
        "sd_ratio",
    ]
    pops = cal.populations
    return "\n".join(
        [
            f"{cal.scenario.name}: {len(cal.params)} assumption(s) calibrated on "
            f"{len(cal.observations.observations)} observations by ABC-SMC (pyabc): "
            f"{len(pops)} populations of {len(cal.posterior)} particles, "
            f"{int(pops['samples'].sum()):,} simulated parameter sets "
            f"x {cal.worlds} world(s), {_acceptance(cal)}",
            "",
            "prior vs posterior (sd_ratio near 1: the observations leave it alone):",
            text_table(table[cols], "{:.4g}"),
            "",
            "posterior predictive check (share of worlds matching each report):",
            text_table(ppc[["date", "kind", "observed", "p_observed_file", "p_observed_posterior"]]),
        ]
    )


def _acceptance(cal) -> str:
    last = cal.populations["epsilon"].iloc[-1]
    if cal.method == "reports":
        return (
            f"exact: the reports' likelihood (reporting error {cal.reporting_error:g}), "
            f"final temperature {last:.3g}"
        )
    return f"approximate: final tolerance (mean Brier) {last:.3f}"


def calibration_figure(cal, table):
    """One panel per parameter: the prior density and the weighted posterior histogram."""
    from scipy import stats

    plt = _pyplot()
    n = len(cal.params)
    fig, axes = plt.subplots(n, 1, figsize=(7, 1.9 * n + 0.8))
    axes = np.atleast_1d(axes)
    w = cal.posterior["weight"].to_numpy()
    for p, ax in zip(cal.params, axes, strict=True):
        x = cal.posterior[p.path].to_numpy()
        if p.prior == "normal":
            grid = np.linspace(p.a - 3.5 * p.b, p.a + 3.5 * p.b, 200)
            dens = stats.norm.pdf(grid, p.a, p.b)
        else:
            pad = 0.05 * (p.b - p.a)
            grid = np.linspace(p.a - pad, p.b + pad, 200)
            dens = stats.uniform.pdf(grid, p.a, p.b - p.a)
        ax.hist(x, bins=20, weights=w, density=True, color="#1f4e9c", alpha=0.6, label="posterior")
        ax.plot(grid, dens, color="#777777", label="prior")
        ax.axvline(p.value, color="#c0392b", lw=1, ls="--", label="in the file")
        ax.set_title(p.path, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, frameon=False, loc="upper right")
    fig.suptitle(f"{cal.scenario.title}\ncalibrated assumptions: prior vs posterior", fontsize=9)
    fig.tight_layout()
    return fig
