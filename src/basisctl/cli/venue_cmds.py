"""Venue choice and the book: ``venues``, ``allocate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from basisctl.cli._common import console, err_console, handle_errors, parse_strs, print_json
from basisctl.cli._defaults import ASOF_DATA_HELP, DEFAULT_RISK_MODEL, RISK_MODEL_HELP, VENUES_LIST_HELP
from basisctl.errors import BasisctlError

if TYPE_CHECKING:
    import pandas as pd

# numerical modules are imported inside the commands: `basisctl --help` must not load numpy/pandas/scipy/numba

FF_HELP = ("Your funding file for a venue, repeatable: VENUE=PATH (CSV/Parquet in the funding schema; validated, "
           "percent-scaled or implausible rates refused). One file per venue.")


def _kv_floats(entries: list[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for e in entries:
        k, sep, v = e.partition("=")
        try:
            out[k.strip().lower()] = float(v)
        except ValueError:
            raise BasisctlError(f"--{what} '{e}': expected KEY=NUMBER") from None
        if not sep:
            raise BasisctlError(f"--{what} '{e}': expected KEY=NUMBER")
    return out


def _calibration(asset: str, asof: pd.Timestamp, lookback_days: float) -> tuple[float, str]:
    from basisctl.calibration.inputs import calibrate_sigma

    # venues/allocate take no candle file: the data dirs (or the user store, filled by data fetch) only
    v = calibrate_sigma(asset, asof, lookback_days, own_hint="this command reads candles from the data dirs only")
    return v.sigma_annual, f"realised {v.interval_hours:g}h perp bars, {v.n_returns} returns"


@handle_errors
def venues(
    asset: Annotated[str, typer.Option(help="Asset symbol, e.g. BTC.")],
    funding_file: Annotated[list[str] | None, typer.Option(help=FF_HELP)] = None,
    lookback_days: Annotated[float, typer.Option(help="Calibration window [days] ending at --asof.")] = 180.0,
    asof: Annotated[str | None, typer.Option(help=ASOF_DATA_HELP)] = None,
    theta_f: Annotated[list[str] | None, typer.Option(help="VENUE=THETA maintenance margin fraction where the "
                                                      "venue has no documented rule for the asset (e.g. okx).")] = None,
    stress: Annotated[float, typer.Option(help="Volatility stress [x].")] = 1.5,
    epsilon: Annotated[float, typer.Option(help="Liquidation budget over the horizon.")] = 1e-3,
    spread_bps: Annotated[float, typer.Option(help="Bid-ask spread per leg [bps of notional].")] = 2.0,
    risk_model: Annotated[str, typer.Option(help="Liquidation-risk model for alpha_target and alpha_L: "
                                            + RISK_MODEL_HELP + ".")] = DEFAULT_RISK_MODEL,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Rank venues for one asset by net carry under each venue's margin rule, best first.

    net_carry_apy = (1 - alpha_target) * carry - expected rebalancing cost [decimal per year]. Venues with no data
    (or no margin rule) are listed with a warning and never ranked."""
    import numpy as np
    import pandas as pd

    from basisctl.calibration.asof import resolve_asof
    from basisctl.calibration.inputs import utc
    from basisctl.venues.choice import KEYS, venue_table
    from basisctl.venues.registry import venue_names
    from basisctl.venues.sources import parse_funding_files, streams

    asset = asset.upper()
    files = parse_funding_files(funding_file or [])
    end = utc(resolve_asof(asof, [v for v in venue_names() if (v, "") not in files], [asset]))
    src = streams(asset, venue_names(), files)
    sigma, sigma_src = _calibration(asset, end, lookback_days)
    from basisctl.risk.registry import check_model
    from basisctl.risk.sizing import model_barriers

    rm = check_model(risk_model)
    bar = model_barriers(rm, asset, end, lookback_days, epsilon, 24.0, 1e-4, 3.0)
    table = venue_table(asset, {v: f for v, (f, _) in src.items()}, asof=end, lookback_days=lookback_days,
                        sigma_annual=sigma, theta_f=_kv_floats(theta_f or [], "theta-f"), stress=stress,
                        epsilon=epsilon, spread_bps=spread_bps, barriers=bar)
    start = end - pd.Timedelta(days=lookback_days)
    rows: list[dict[str, Any]] = [{k: r[k] for k in KEYS}
                                  for r in table.replace({np.nan: None}).to_dict(orient="records")]
    out: dict[str, Any] = {"asset": asset, "calibration_window": {"start": start.isoformat(), "end": end.isoformat(),
                                                  "lookback_days": lookback_days},
           "risk_model": rm, "sigma_annual": sigma, "sigma_source": sigma_src, "stress": stress,
           "epsilon": epsilon,
           "funding_sources": {v: s for v, (_, s) in src.items()},
           "venues": rows}
    if as_json:
        print_json(out)
        return
    t = Table(title=f"{asset}: venues by net carry, window ({start:%Y-%m-%d}, {end:%Y-%m-%d}]")
    for c in ("venue", "kappa bps/day", "share +", "q05 APR", "theta_F", "alpha*", "net carry APY", "days",
              "warnings"):
        t.add_column(c)
    for r in rows:
        f = (lambda x, fmt: "n/a" if x is None else fmt.format(x))  # noqa: E731
        t.add_row(r["venue"], f(r["kappa_bps_day"], "{:.2f}"), f(r["share_positive"], "{:.0%}"),
                  f(r["q05_apr"], "{:.1%}"), f(r["theta_f"], "{:.4f}"), f(r["alpha_target"], "{:.3f}"),
                  f(r["net_carry_apy"], "{:.2%}"), f(r["data_days"], "{:.0f}"), "; ".join(r["warnings"]))
    console.print(t)


@handle_errors
def allocate(
    capital_usd: Annotated[float, typer.Option(help="Capital D to allocate [USD].")],
    assets: Annotated[str, typer.Option(help="Comma-separated assets.")] = "BTC,ETH,LINK,DOGE",
    venues_: Annotated[str | None, typer.Option("--venues", help=VENUES_LIST_HELP[:-1] + " (default: all).")] = None,
    max_venue_share: Annotated[float, typer.Option(help="Cap per venue [fraction of capital].")] = 0.4,
    max_asset_share: Annotated[float, typer.Option(help="Cap per asset [fraction of capital].")] = 0.4,
    capacity_usd: Annotated[list[str] | None, typer.Option(help="V^max per position, repeatable: VENUE=USD or "
                                                           "VENUE:ASSET=USD (from `basisctl costs capacity`).")] = None,
    risk_aversion: Annotated[float, typer.Option(help="Mean-variance risk aversion on weekly funding APY "
                                                 "(0 = maximise expected net carry only).")] = 1.0,
    funding_file: Annotated[list[str] | None, typer.Option(help="VENUE:ASSET=PATH, repeatable.")] = None,
    lookback_days: Annotated[float, typer.Option(help="Calibration window [days].")] = 180.0,
    asof: Annotated[str | None, typer.Option(help=ASOF_DATA_HELP)] = None,
    risk_model: Annotated[str, typer.Option(help="Liquidation-risk model for alpha_target and alpha_L: "
                                            + RISK_MODEL_HELP + ".")] = DEFAULT_RISK_MODEL,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the allocation as a book file (TOML) for "
                                             "`basisctl run --book`: weights -> positions.")] = None,
) -> None:
    """Allocate capital across asset x venue: maximise expected net carry under capacity, venue and asset caps,
    with a mean-variance diversification term (Ledoit-Wolf shrinkage covariance)."""
    import pandas as pd

    from basisctl.calibration.asof import resolve_asof
    from basisctl.calibration.inputs import utc
    from basisctl.portfolio.book import allocate as allocate_book
    from basisctl.portfolio.book import weekly_apy
    from basisctl.risk.registry import check_model
    from basisctl.risk.sizing import model_barriers
    from basisctl.venues.choice import venue_table
    from basisctl.venues.registry import get_venue, venue_names
    from basisctl.venues.sources import check_files_used, parse_funding_files, streams

    risk_model = check_model(risk_model)
    files = parse_funding_files(funding_file or [], with_asset=True)
    vs = [get_venue(v).name for v in parse_strs(venues_)] if venues_ else list(venue_names())
    check_files_used(files, parse_strs(assets), vs)
    end = utc(resolve_asof(asof, vs, parse_strs(assets)))  # the data's last complete day (issue 20 p)
    caps: dict[tuple[str, str], float] = {}
    for k, v in _kv_floats(capacity_usd or [], "capacity-usd").items():
        venue, _, a = k.partition(":")
        caps[(get_venue(venue).name, a.upper())] = v
    want = {x.upper() for x in parse_strs(assets)}
    for (venue, a) in caps:  # a cap for a position the command never looks at is an error, never ignored
        if (a and a not in want) or venue not in vs:
            raise BasisctlError(f"--capacity-usd {venue}{':' + a if a else ''}: "
                                + (f"{a} is not in --assets ({', '.join(sorted(want))})" if a and a not in want
                                   else f"{venue} is not in --venues ({', '.join(vs)})"))
    rows, history, notes = [], {}, []
    ranked_warnings: dict[tuple[str, str], list[str]] = {}
    for a in [x.upper() for x in parse_strs(assets)]:
        src = streams(a, vs, files)
        try:
            sigma, _ = _calibration(a, end, lookback_days)
        except BasisctlError as e:  # one asset without candles does not sink the book: said, and left out
            notes.append(f"{a}: left out: {e}")
            continue
        try:
            bar = model_barriers(risk_model, a, end, lookback_days, 1e-3, 24.0, 1e-4, 3.0)
        except BasisctlError as e:  # as for sigma: said, and the asset left out
            notes.append(f"{a}: left out: {e}")
            continue
        tab = venue_table(a, {v: f for v, (f, _) in src.items()}, asof=end, lookback_days=lookback_days,
                          sigma_annual=sigma, barriers=bar)
        for r in tab.to_dict(orient="records"):
            if r["net_carry_apy"] is None or pd.isna(r["net_carry_apy"]):
                notes += [f"{a}/{r['venue']}: {w}" for w in r["warnings"]]
                continue
            ranked_warnings[(a, r["venue"])] = list(r["warnings"])
            cap = caps.get((r["venue"], a), caps.get((r["venue"], ""), float("inf")))
            rows.append({"asset": a, "venue": r["venue"], "expected_apy": r["net_carry_apy"],
                         "alpha_target": r["alpha_target"], "capacity_usd": cap})
            f = src[r["venue"]][0]
            assert f is not None
            win = f[(f["ts"] > end - pd.Timedelta(days=lookback_days)) & (f["ts"] <= end)]
            history[(a, r["venue"])] = weekly_apy(win)
    if not rows:  # say why: the notes hold each asset's and venue's reason
        why = "; ".join(notes[:3]) + (f" (+{len(notes) - 3} more)" if len(notes) > 3 else "")
        raise BasisctlError("no (asset, venue) with data and a margin rule to allocate over"
                            + (f": {why}" if why else ""))
    if not caps:
        notes.append("no --capacity-usd given: positions limited by the venue and asset caps only")
    res = allocate_book(pd.DataFrame(rows), capital_usd, max_venue_share=max_venue_share,
                        max_asset_share=max_asset_share, risk_aversion=risk_aversion, history=history)
    # what `venues` says about a position's data (thin data, short window) stays attached to the money put there
    held = [f"{p.asset}/{p.venue}: {w}" for p in res.positions.itertuples()
            for w in ranked_warnings.get((str(p.asset), str(p.venue)), [])]
    warnings = res.warnings + held + notes
    if out_file is not None:
        from basisctl.live.book.write import write_book

        write_book(out_file, res.positions.to_dict(orient="records"), capital_usd, risk_model,
                   header=f"basisctl allocate: {res.summary()}\nasof {end.isoformat()}, "
                   f"lookback {lookback_days:g} days")
        (err_console if as_json else console).print(f"book file written: {out_file}", highlight=False)
    out = {**res.to_dict(), "asof": end.isoformat(), "lookback_days": lookback_days, "risk_model": risk_model,
           "warnings": warnings}
    if as_json:
        print_json(out)
        return
    t = Table(title=res.summary())
    for c in ("asset", "venue", "capital USD", "alpha*", "expected APY"):
        t.add_column(c)
    for p in res.positions.itertuples():
        t.add_row(str(p.asset), str(p.venue), f"{p.capital_usd:,.0f}", f"{p.alpha_target:.3f}",
                  f"{p.expected_apy:.2%}")
    console.print(t)
    console.print(f"[dim]{res.method}[/]")
    for w in warnings:
        console.print(f"[yellow]warning:[/] {w}")


@handle_errors
def backtest_portfolio(
    date_from: Annotated[str, typer.Option("--from", help="Test start (UTC date).")] = "2025-03-10",
    date_to: Annotated[str, typer.Option("--to", help="Test end (UTC date, exclusive).")] = "2026-03-10",
    rebalance: Annotated[str, typer.Option(help="monthly | quarterly | none.")] = "monthly",
    assets: Annotated[str, typer.Option(help="Comma-separated assets.")] = "BTC,ETH",
    capital_usd: Annotated[float, typer.Option(help="Initial capital [USD].")] = 1_000_000.0,
    max_venue_share: Annotated[float, typer.Option(help="Cap per venue [fraction].")] = 0.4,
    max_asset_share: Annotated[float, typer.Option(help="Cap per asset [fraction].")] = 0.4,
    risk_aversion: Annotated[float, typer.Option(help="Mean-variance risk aversion (0 = LP).")] = 1.0,
    funding_file: Annotated[list[str] | None, typer.Option(help="VENUE:ASSET=PATH, repeatable.")] = None,
    allow_missing_funding: Annotated[bool, typer.Option(help="Run positions whose window misses more than 2 % of "
                                                        "its funding settlements (credited as zero; warned).")]
    = False,
    report: Annotated[Path | None, typer.Option(help="Write DIR/portfolio.html (NAV + allocation figures).")]
    = None,
    risk_model: Annotated[str, typer.Option(help="Liquidation-risk model for alpha_target and alpha_L: "
                                            + RISK_MODEL_HELP + ".")] = DEFAULT_RISK_MODEL,
    rotation: Annotated[bool, typer.Option(help="Also run the forecast-driven rotation (issue 23): one position at "
                                           "a time across the (asset, venue) streams, the regime study file's "
                                           "[regime] forecast and parameters, switching costs paid.")] = False,
    transfer_fee_usd: Annotated[float | None, typer.Option(help="Rotation: fee per transfer [USD] (default: the "
                                                           "regime study file's).")] = None,
    transfer_fee_bps: Annotated[float | None, typer.Option(help="Rotation: fee per transfer [bps of the amount].")]
    = None,
    transfer_delay_hours: Annotated[float | None, typer.Option(help="Rotation: capital in transit per transfer "
                                                               "[h], earning nothing.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Walk-forward book over the data dir and your files, against a Hyperliquid-only and an equal-weight book."""
    from basisctl.backtest.portfolio import run_portfolio
    from basisctl.calibration.inputs import utc
    from basisctl.risk.registry import check_model
    from basisctl.risk.rule import ModelSizer
    from basisctl.venues.registry import venue_names
    from basisctl.venues.sources import check_files_used, parse_funding_files, streams

    start, end = utc(date_from), utc(date_to)
    files = parse_funding_files(funding_file or [], with_asset=True)
    names = [x.upper() for x in parse_strs(assets)]
    check_files_used(files, names)
    st = {}
    for a in names:
        for v, (f, _) in streams(a, venue_names(), files).items():
            if f is not None:
                st[(a, v)] = f
    if not st:
        raise BasisctlError(
            f"no funding streams for {', '.join(names)} on any venue ({', '.join(venue_names())}) in the data dirs "
            f"(`basisctl data list` shows them): get one with `basisctl data fetch --venue hyperliquid --asset "
            f"{names[0] if names else 'BTC'} --kind funding --from 2021-01-01`, "
            "or pass --funding-file VENUE:ASSET=PATH")
    kw = dict(capital_usd=capital_usd, rebalance=rebalance, max_venue_share=max_venue_share,
              max_asset_share=max_asset_share, risk_aversion=risk_aversion,
              allow_missing_funding=allow_missing_funding, sizer=ModelSizer(check_model(risk_model)))
    warnings = ["no --capacity-usd given: capacity is unlimited, positions are limited by the venue and asset "
                "caps only"]
    books = [run_portfolio(names, st, start, end, label="book", **kw)]  # type: ignore[arg-type]
    absent: list[dict[str, Any]] = []
    if any(v == "hyperliquid" for _, v in st):
        books.append(run_portfolio(names, st, start, end, venues=["hyperliquid"], label="hyperliquid only",
                                   **kw))  # type: ignore[arg-type]
    else:  # never a row of zeros that reads like a flat Hyperliquid book
        absent.append({"book": "hyperliquid only", "note": f"no Hyperliquid data for {','.join(names)}"})
        warnings.append(f"hyperliquid-only benchmark: no Hyperliquid data for {','.join(names)}; not run")
    books.append(run_portfolio(names, st, start, end, equal_weight=True, label="equal weight",
                               **kw))  # type: ignore[arg-type]
    rot = None
    if rotation:
        rot = _rotation(names, st, start, end, capital_usd, transfer_fee_usd, transfer_fee_bps, transfer_delay_hours,
                        kw["sizer"])
    warnings += [w for b in books for w in b.warnings]
    for w in warnings:
        err_console.print(f"warning: {w}", highlight=False, markup=False, soft_wrap=True)
    cmd = (f"basisctl backtest-portfolio --from {date_from} --to {date_to} --rebalance {rebalance} "
           f"--assets {','.join(names)} --risk-model {check_model(risk_model)}")
    if report is not None:
        from basisctl.report.portfolio_section import portfolio_section, standalone_html

        report.mkdir(parents=True, exist_ok=True)
        (report / "portfolio.html").write_text(standalone_html(portfolio_section(books, cmd)))
    metrics: list[dict[str, Any]] = [b.metrics() for b in books] + absent
    out = {"command": cmd, "books": metrics, "warnings": warnings,
           # alpha_U's kappa of each position: its own venue's funding up to the opening date (`basisctl backtest
           # --kappa-venue V --funding-venue V --venue V` is the same single run)
           "kappa_venue": "position venue",
           "allocations": books[0].allocations.to_dict(orient="records"),
           "positions": books[0].segments,
           "nav_daily": {b.label: b.nav.resample("1D").last().dropna().to_dict() for b in books}}
    if rot is not None:
        out["rotation"] = rot.metrics() | {"decisions": rot.decisions[
            rot.decisions["action"] != "hold"].astype({"ts": str}).to_dict(orient="records")}
        metrics.append(rot.metrics())
    if as_json:
        print_json(out)
        return
    t = Table(title=cmd)
    for c in ("book", "acc_return", "apy", "max_drawdown", "positions_opened"):
        t.add_column(c)
    for m in metrics:
        if "note" in m:
            t.add_row(str(m["book"]), m["note"], "", "", "")
            continue
        t.add_row(str(m["book"]), f"{m['acc_return']:.2%}", f"{m['apy']:.2%}", f"{m['max_drawdown']:.2%}",
                  str(m["positions_opened"]))
    console.print(t)
    if report is not None:
        console.print(f"wrote {report / 'portfolio.html'}", highlight=False, markup=False)


def _rotation(names: list[str], streams: dict, start: Any, end: Any, capital_usd: float, fee_usd: float | None,
              fee_bps: float | None, delay_h: float | None, sizer: Any) -> Any:
    """The rotation book of ``backtest-portfolio --rotation`` (basisctl.regime.rotation)."""
    from basisctl.regime.alt_yield import AltYield, load_alt_yield
    from basisctl.regime.rotation import rotation_candidates, run_rotation
    from basisctl.study.studyfile import load_study

    rs = load_study("regime").regime
    assert rs is not None
    over = {k: v for k, v in (("transfer_fee_usd", fee_usd), ("transfer_fee_bps", fee_bps),
                              ("transfer_delay_hours", delay_h)) if v is not None}
    params = rs.params.model_copy(update=over) if over else rs.params
    params = type(params)(**params.model_dump())  # re-validated
    alt = (load_alt_yield(rs.alt_yield_series, fallback_apr=rs.alt_yield_apr) if rs.alt_yield_series
           else AltYield.constant(rs.alt_yield_apr))
    return run_rotation(rotation_candidates(names, streams, start, end, params, sizer), alt, params, capital_usd)


def universe_theta_f(theta_f: list[str], l_max: list[str]) -> dict[str, float]:
    """venue -> theta_F from ``--theta-f VENUE=THETA`` and ``--l-max VENUE=L_MAX`` (theta_F = c / L_max with the
    venue's documented c); a venue given both ways is an error."""
    from basisctl.model.margin import check_venue, theta_f_from_l_max

    th: dict[str, float] = {check_venue(v): x for v, x in _kv_floats(theta_f, "theta-f").items()}
    for v, x in _kv_floats(l_max, "l-max").items():
        venue = check_venue(v)
        if venue in th:
            raise BasisctlError(f"--l-max {v}= and --theta-f {v}=: give one margin rule per venue")
        th[venue] = theta_f_from_l_max(venue, x)
    for v, x in th.items():
        if not 0.0 < x < 1.0:
            raise BasisctlError(f"--theta-f {v}={x!r}: expected a fraction in (0, 1)")
    return th


def universe_sweep(folder: Path, date_to: str, executor: str, workers: int | None, ray_address: str | None,
                   as_json: bool, out: Path | None, theta_f: dict[str, float] | None = None) -> None:
    """``sweep --universe DIR``: the venue table of every asset in the folder (see basisctl.backtest.universe)."""
    import numpy as np
    import pandas as pd

    from basisctl.backtest.universe import run_universe
    from basisctl.calibration.inputs import utc

    df = run_universe(folder, utc(date_to), executor=executor, workers=workers, ray_address=ray_address,
                      theta_f=theta_f or None)
    if out is not None:
        df.to_parquet(out) if out.suffix == ".parquet" else df.to_csv(out, index=False)
    if as_json:
        print_json(df.replace({np.nan: None}).to_dict(orient="records"))
        return
    t = Table(title=f"Universe {folder}: {df['asset'].nunique()} assets, venues by net carry")
    for c in ("asset", "venue", "net_carry_apy", "kappa_bps_day", "alpha_target", "error"):
        t.add_column(c)
    fmt = (lambda x, spec: "n/a" if x is None or pd.isna(x) else format(float(x), spec))  # noqa: E731
    for r in df.to_dict(orient="records"):
        t.add_row(str(r["asset"]), str(r["venue"]), fmt(r["net_carry_apy"], ".2%"), fmt(r["kappa_bps_day"], ".2f"),
                  fmt(r["alpha_target"], ".3f"), str(r["error"])[:60])
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("venues")(venues)
    app.command("allocate")(allocate)
    app.command("backtest-portfolio")(backtest_portfolio)
