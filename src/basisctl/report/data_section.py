"""The report's "Data" section: every market-data file the run read, with its data dir, span and rows."""

from __future__ import annotations

import html

import pandas as pd

from basisctl.data import locator


def _span(label: str) -> tuple[int | None, str | None, str | None]:
    """(rows, first, last) of a funding or price series (None for other files)."""
    kind = label.split(" ", 1)[0]
    if kind not in ("funding", "prices"):
        return None, None, None
    parts = label.split()
    frame = (locator.load_funding(parts[1], parts[2]) if kind == "funding"
             else locator.load_candles(parts[1], parts[2], parts[3]))
    first, last = frame["ts"].min(), frame["ts"].max()
    return len(frame), f"{first:%Y-%m-%d %H:%M}", f"{last:%Y-%m-%d %H:%M}"


def data_sources_frame() -> pd.DataFrame:
    """One row per file read by this run: in this process, in its worker processes, or by the computations whose
    results came from the result cache (their recorded inputs). Columns: dataset, data dir origin, rows, first
    and last timestamp, path. Spans come from the result cache too (keyed by the file's fingerprint)."""
    from basisctl import cache

    rows = []
    origins = {str(r.path): r.origin for r in locator.roots()}
    for label, path in sorted(locator.files_read().items()):
        origin = next((o for root, o in origins.items() if path.startswith(root)), "")
        n, first, last = cache.memoize("report/data file span", {"label": label, "path": path},
                                       lambda label=label: _span(label)).value  # type: ignore[misc]
        rows.append({"dataset": label, "data_dir": origin, "rows": n, "first": first, "last": last, "path": path})
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
