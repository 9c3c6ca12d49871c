"""Shared HTML/figure helpers of the report sections: embedded PNG figures, captioned tables, CSS."""


import base64
import html
import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

matplotlib.use("Agg")

Note = Callable[[str], None]
VENUES = ("binance", "hyperliquid")
COLORS = {"binance": "#d08b00", "hyperliquid": "#1f6fb2"}
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em}h1{font-size:1.7em}h2{border-bottom:2px solid #1f6fb2;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#eef3f8}figure{margin:1em 0}img{max-width:100%}figcaption,.cap{font-size:.85em;color:#444}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px;font-size:.92em}.note{background:#fff8e5;padding:.6em 1em;
border-left:4px solid #d08b00}.warnings{background:#fdecea;padding:.4em 1em;border-left:4px solid #c0392b;
font-size:.88em}.notes{background:#eef6fb;padding:.4em 1em;border-left:4px solid #2c7fb8;
font-size:.88em}ul.find li{margin:.3em 0}nav a{margin-right:1em}
"""


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fig: plt.Figure, caption: str, cmd: str) -> str:
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(fig)}"/>'
            f"<figcaption>{html.escape(caption)} Regenerate: <code>{html.escape(cmd)}</code></figcaption></figure>")


def _no_negative_zero(text: str) -> str:
    """'-0.00%' -> '0.00%': a value that rounds to zero has no sign."""
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        return text[1:]
    return text


def _table(df: pd.DataFrame, caption: str, cmd: str, fmt: dict[str, str] | None = None) -> str:
    d = df.copy()
    for c, f in (fmt or {}).items():
        if c in d:
            d[c] = [("" if (isinstance(v, float) and np.isnan(v)) else _no_negative_zero(f.format(v))) for v in d[c]]
    for c in d.columns:  # counts stored as float (a NaN in the column) print as counts: 268, not 268.0
        if c in (fmt or {}) or not pd.api.types.is_float_dtype(d[c]):
            continue
        vals = d[c].to_numpy(dtype=float)
        fin = vals[np.isfinite(vals)]
        if fin.size and np.all(fin == np.round(fin)):
            d[c] = ["" if not np.isfinite(v) else str(int(v)) for v in vals]
    body = d.to_html(index=False, escape=True, border=0)
    return (f'<p class="cap"><b>{html.escape(caption)}</b> Regenerate: <code>{html.escape(cmd)}</code></p>'
            f"{body}")


PCT = "{:.2%}"
F4 = "{:.4f}"
F2 = "{:.2f}"
