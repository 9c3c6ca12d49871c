"""Report section: the dynamic band [alpha_L, alpha_U] per venue and asset."""


from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import pandas as pd

from basisctl.band_grids import upper_rows
from basisctl.calibration.inputs import DEFAULT_ASOF
from basisctl.errors import BasisctlError
from basisctl.report._bands import default_alpha_lower, default_band_inputs
from basisctl.report._html import F2, F4, VENUES, _table

BAND_COSTS_BPS = (10.0, 20.0, 30.0)


def bands_section(assets: Sequence[str]) -> str:
    rows: list[dict[str, object]] = []
    for v in VENUES:
        for a in assets:
            try:
                inp = default_band_inputs(v, a)
            except BasisctlError as e:
                rows.append({"venue": v, "asset": a, "note": str(e)})
                continue
            at = inp.alpha_target
            row = {"venue": v, "asset": a, "theta_f": inp.theta_f,
                   "alpha_lower": default_alpha_lower(inp),
                   "alpha_target": at, "kappa_14d_bps": inp.kappa14 * 1e4}
            for u in upper_rows(inp, at, BAND_COSTS_BPS):
                row[f"alpha_upper_{u['cost_bps']:g}bps"] = u["alpha_upper"]
            row["note"] = ""
            rows.append(row)
    df = pd.DataFrame(rows)
    fmt = {c: F4 for c in df.columns if c.startswith("alpha") or c == "theta_f"}
    fmt["kappa_14d_bps"] = F2
    cmd = (f"basisctl bands --venue V --asset A --cost-bps {','.join(f'{c:g}' for c in BAND_COSTS_BPS)} "
           f"--risk-model gbm --asof {DEFAULT_ASOF:%Y-%m-%d} --json")
    return ("<h2 id='bands'>Dynamic band [&alpha;<sub>L</sub>, &alpha;<sub>U</sub>]</h2>"
            "<p>&alpha;<sub>L</sub>: Variant 2 over h<sub>liq</sub> = 3 h with "
            "&epsilon;<sub>liq</sub> = 10<sup>-4</sup> "
            "(eq. 38/48) on the 1.5x-stressed 180-day vol (the paper's GBM; the default model is fhs); "
            "&alpha;<sub>U</sub> = &alpha;&dagger; + K<sub>reb</sub>/"
            "&kappa;<sub>14d</sub> capped at 0.99 (eq. 45) for three cost budgets.</p>"
            + _table(df, f"Bands at {DEFAULT_ASOF:%Y-%m-%d} per venue and asset "
                     "(keys alpha_lower, alpha_target, kappa14_bps, upper[].alpha_upper).", cmd, fmt))
