"""Class colours stay apart for readers with colour-vision deficiencies.

Colours are simulated as a protanope, deuteranope and tritanope sees them (Machado, Oliveira &
Fernandes 2009, full severity, as colorspacious implements them) and compared with CIEDE2000
(Sharma, Wu & Dalal 2005), whose published test pairs check the implementation below.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

colorspacious = pytest.importorskip("colorspacious")

from sim.engine.outcomes import NO_DEAL  # noqa: E402
from sim.outputs.plots import AGREEMENT, DEAL_COLOURS, class_colours, class_hatches  # noqa: E402

DEFICIENCIES = ("protanomaly", "deuteranomaly", "tritanomaly")
MIN_DISTANCE = 10.0


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference of two CIELab colours (kL = kC = kH = 1)."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cb7 = ((C1 + C2) / 2) ** 7
    G = 0.5 * (1 - np.sqrt(Cb7 / (Cb7 + 25**7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360 if C1p else 0.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360 if C2p else 0.0
    dLp, dCp = L2 - L1, C2p - C1p
    dhp = 0.0
    if C1p * C2p:
        dhp = h2p - h1p
        dhp = dhp - 360 if dhp > 180 else dhp + 360 if dhp < -180 else dhp
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dhp / 2))
    Lbp, Cbp = (L1 + L2) / 2, (C1p + C2p) / 2
    if not C1p * C2p:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    T = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    Rc = 2 * np.sqrt(Cbp**7 / (Cbp**7 + 25**7))
    Rt = -np.sin(np.radians(60 * np.exp(-(((hbp - 275) / 25) ** 2)))) * Rc
    Sl = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    Sc, Sh = 1 + 0.045 * Cbp, 1 + 0.015 * Cbp * T
    return float(np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh)))


def lab_as_seen(hex_colour: str, deficiency: str | None) -> np.ndarray:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    if deficiency:
        cvd = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
        rgb = np.clip(colorspacious.cspace_convert(rgb, cvd, "sRGB1"), 0, 1)
    return colorspacious.cspace_convert(rgb, "sRGB1", "CIELab")


def closest_as_seen(a: str, b: str) -> tuple[float, str]:
    """The smallest CIEDE2000 distance of two colours over the three deficiencies, and which one."""
    return min((ciede2000(lab_as_seen(a, d), lab_as_seen(b, d)), d) for d in DEFICIENCIES)


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma, Wu & Dalal (2005), table 1
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, -1, 2), (50, 0, 0), 2.3669),
        ((50, 2.5, 0), (56, -27, -3), 31.9030),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
        ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
        ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ],
)
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_every_pair_of_class_colours_stays_apart_under_colour_blindness():
    classes = [f"class_{i}" for i in range(len(DEAL_COLOURS))]
    colours = class_colours(classes)
    used = [colours[c] for c in [*classes, NO_DEAL]]
    for a, b in itertools.combinations(used, 2):
        distance, deficiency = closest_as_seen(a, b)
        assert distance >= MIN_DISTANCE, f"{a} and {b}: {distance:.1f} under {deficiency}"
    # the total is drawn black, dotted, apart from every class
    for c in used:
        assert closest_as_seen(colours[AGREEMENT], c)[0] >= MIN_DISTANCE


def test_the_check_catches_tab10_orange_and_green():
    distance, deficiency = closest_as_seen("#ff7f0e", "#2ca02c")  # matplotlib's tab10, used before
    assert distance < MIN_DISTANCE and deficiency in ("protanomaly", "deuteranomaly")


def test_classes_beyond_the_palette_still_differ_in_colour_or_hatch():
    classes = [f"class_{i}" for i in range(2 * len(DEAL_COLOURS))]
    colours, hatches = class_colours(classes), class_hatches(classes)
    styles = {(colours[c], hatches[c]) for c in classes}
    assert len(styles) == len(classes)
