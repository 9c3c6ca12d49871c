"""The report's "Data" section: every market-data file the run read, with its data dir, span and rows."""

from __future__ import annotations

import html

import pandas as pd

from basisctl.data import locator


def data_sources_frame() -> pd.DataFrame:
    """One row per file read in this process: dataset, path, data dir origin, rows, first and last timestamp."""
    rows = []
    origins = {str(r.path): r.origin for r in locator.roots()}
    for label, path in sorted(locator.files_read().items()):
        origin = next((o for root, o in origins.items() if path.startswith(root)), "")
        first = last = n = None
        kind = label.split(" ", 1)[0]
        if kind in ("funding", "prices"):
            parts = label.split()
            frame = (locator.load_funding(parts[1], parts[2]) if kind == "funding"
                     else locator.load_candles(parts[1], parts[2], parts[3]))
            n, first, last = len(frame), frame["ts"].min(), frame["ts"].max()
        rows.append({"dataset": label, "data_dir": origin, "rows": n,
                     "first": None if first is None else f"{first:%Y-%m-%d %H:%M}",
                     "last": None if last is None else f"{last:%Y-%m-%d %H:%M}", "path": path})
    frame = pd.DataFrame(rows, columns=["dataset", "data_dir", "rows", "first", "last", "path"])
    return frame.astype({"rows": "Int64"})


def data_section() -> str:
    """HTML: where the data came from (files, spans), in search order of the data dirs."""
    df = data_sources_frame()
    roots = "".join(f"<li><code>{html.escape(str(r.path))}</code> ({html.escape(r.origin)})</li>"
                    for r in locator.roots())
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    head = "".join(f"<th>{c}</th>" for c in df.columns)
    return ("<section id='data'><h2>Data</h2><p>basisctl ships no market data. This report read the files below "
            "(venue public-API history in the shared layout; see <code>basisctl data list</code>). Data dirs, in "
            f"search order:</p><ol>{roots}</ol><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            "</section>")
