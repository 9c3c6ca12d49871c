"""Literal defaults shown in ``--help``, kept here so the CLI modules import nothing heavy at load time.

Each value equals a library constant (named in the comment); ``tests/inputs/test_startup.py`` pins that.
"""

from __future__ import annotations

DEFAULT_ASOF_DATE = "2026-03-10"  # basisctl.calibration.inputs.DEFAULT_ASOF
#: Help text of every --asof that defaults to the data (basisctl.calibration.asof.data_asof, issue 20 p).
ASOF_DATA_HELP = ("Calibration end (UTC date, exclusive); default: the midnight after the last UTC day complete in "
                  f"every data-dir file read (candles and funding; docs/model.md). The paper uses {DEFAULT_ASOF_DATE}.")
DEFAULT_LOOKBACK_DAYS = 180.0  # basisctl.band_grids.DEFAULT_LOOKBACK_DAYS
DEFAULT_STRESS = 1.5  # basisctl.band_grids.DEFAULT_STRESS
DEFAULT_EPSILON = 1e-3  # basisctl.band_grids.DEFAULT_EPSILON
DEFAULT_H_LIQ_HOURS = 3.0  # basisctl.model.bands.DEFAULT_H_LIQ_HOURS
DEFAULT_EPS_LIQ = 1e-4  # basisctl.model.bands.DEFAULT_EPS_LIQ
DEFAULT_MC_HORIZON_DAYS = 60.0  # basisctl.band_grids.DEFAULT_MC_HORIZON_DAYS
DEFAULT_UPPER_PATHS = 20_000  # basisctl.band_grids.DEFAULT_UPPER_PATHS
MIN_HITS_FOR_STATS = 30  # basisctl.band_grids.MIN_HITS_FOR_STATS
DEFAULT_LOWER_MC_PATHS = 1_000_000  # basisctl.band_grids.DEFAULT_LOWER_MC_PATHS
MARGIN_VENUES: tuple[str, ...] = ("binance", "hyperliquid")  # basisctl.model.margin.VENUES
SIM_BACKENDS: tuple[str, ...] = ("numpy", "numba", "jax")  # basisctl.simulate.engine.BACKENDS
SWEEP_EXECUTORS: tuple[str, ...] = ("process", "serial", "ray")  # basisctl.backtest.sweep.EXECUTORS
DATA_ASSETS: tuple[str, ...] = ("BTC", "ETH", "LINK", "DOGE")  # basisctl.data.locator.ASSETS
BINANCE_USDM_URL = "https://fapi.binance.com"  # basisctl.venues.binance.fetch.BINANCE_USDM_URL
HYPERLIQUID_URL = "https://api.hyperliquid.xyz"  # basisctl.venues.hyperliquid.fetch.HYPERLIQUID_URL
RPC_DEFAULT_BATCH_SIZE = 100  # basisctl.data.fetch.uniswap_rpc.DEFAULT_BATCH_SIZE
RPC_DEFAULT_POOL_NAME = "USDC_WETH_0p05_mainnet"  # basisctl.data.fetch.uniswap_rpc.DEFAULT_POOL_NAME
RPC_ENV_URL = "BASISCTL_ETH_RPC_URL"  # basisctl.data.fetch.uniswap_rpc.ENV_RPC_URL
USDC_WETH_005_POOL = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640"  # basisctl.data.fetch.uniswap_rpc
RISK_DEFAULT_MODELS: tuple[str, ...] = ("gbm", "kou", "fhs", "evt")  # basisctl.risk.coverage.DEFAULT_MODELS
FHS_DEFAULT_PATHS = 4000  # basisctl.risk.fhs.DEFAULT_PATHS
DEFAULT_RISK_MODEL = "fhs"  # basisctl.risk.registry.DEFAULT_RISK_MODEL
RISK_MODEL_HELP = ("fhs (default, tail-tested) | gbm (the paper, stressed) | kou | evt | adaptive "
                   "(docs/risk.md)")  # basisctl.risk.registry.MODEL_CHOICES_HELP
RULE_NAMES: tuple[str, ...] = ("paper", "optimal", "hold", "fixed_leverage", "periodic")  # rules.builders.RULES
EXTRA_RULE_NAMES: tuple[str, ...] = ("optimal_dagger", "optimal_boot", "optimal_fhs")  # rules.builders.EXTRA_RULES
DEFAULT_RULE_NAMES: tuple[str, ...] = (*RULE_NAMES, "optimal_boot")  # basisctl.rules.builders.DEFAULT_RULES
EXPERIMENT_VENUES: tuple[str, ...] = ("binance", "hyperliquid")  # basisctl.backtest.experiment.VENUES
#: Every venue in the registry (basisctl.venues.registry.venue_names(); a test pins the equality): funding
#: options accept any of them that has data.
VENUE_NAMES: tuple[str, ...] = ("hyperliquid", "binance", "bybit", "okx", "dydx", "kraken")
#: Help of every comma-separated --venues option (each is checked against the registry).
VENUES_LIST_HELP = "Comma-separated venues, any of " + ", ".join(VENUE_NAMES) + "."

#: Library constant each literal mirrors: (module, attribute, transform applied before comparing).
MIRRORS: dict[str, tuple[str, str]] = {
    "DEFAULT_LOOKBACK_DAYS": ("basisctl.band_grids", "DEFAULT_LOOKBACK_DAYS"),
    "DEFAULT_STRESS": ("basisctl.band_grids", "DEFAULT_STRESS"),
    "DEFAULT_EPSILON": ("basisctl.band_grids", "DEFAULT_EPSILON"),
    "DEFAULT_H_LIQ_HOURS": ("basisctl.model.bands", "DEFAULT_H_LIQ_HOURS"),
    "DEFAULT_EPS_LIQ": ("basisctl.model.bands", "DEFAULT_EPS_LIQ"),
    "DEFAULT_MC_HORIZON_DAYS": ("basisctl.band_grids", "DEFAULT_MC_HORIZON_DAYS"),
    "DEFAULT_UPPER_PATHS": ("basisctl.band_grids", "DEFAULT_UPPER_PATHS"),
    "MIN_HITS_FOR_STATS": ("basisctl.band_grids", "MIN_HITS_FOR_STATS"),
    "DEFAULT_LOWER_MC_PATHS": ("basisctl.band_grids", "DEFAULT_LOWER_MC_PATHS"),
    "MARGIN_VENUES": ("basisctl.model.margin", "VENUES"),
    "SIM_BACKENDS": ("basisctl.simulate.engine", "BACKENDS"),
    "SWEEP_EXECUTORS": ("basisctl.backtest.sweep", "EXECUTORS"),
    "DATA_ASSETS": ("basisctl.data.locator", "ASSETS"),
    "BINANCE_USDM_URL": ("basisctl.venues.binance.fetch", "BINANCE_USDM_URL"),
    "HYPERLIQUID_URL": ("basisctl.venues.hyperliquid.fetch", "HYPERLIQUID_URL"),
    "RPC_DEFAULT_BATCH_SIZE": ("basisctl.data.fetch.uniswap_rpc", "DEFAULT_BATCH_SIZE"),
    "RPC_DEFAULT_POOL_NAME": ("basisctl.data.fetch.uniswap_rpc", "DEFAULT_POOL_NAME"),
    "RPC_ENV_URL": ("basisctl.data.fetch.uniswap_rpc", "ENV_RPC_URL"),
    "USDC_WETH_005_POOL": ("basisctl.data.fetch.uniswap_rpc", "USDC_WETH_005_POOL"),
    "RISK_DEFAULT_MODELS": ("basisctl.risk.coverage", "DEFAULT_MODELS"),
    "FHS_DEFAULT_PATHS": ("basisctl.risk.fhs", "DEFAULT_PATHS"),
    "DEFAULT_RISK_MODEL": ("basisctl.risk.registry", "DEFAULT_RISK_MODEL"),
    "RISK_MODEL_HELP": ("basisctl.risk.registry", "MODEL_CHOICES_HELP"),
    "RULE_NAMES": ("basisctl.rules.builders", "RULES"),
    "EXTRA_RULE_NAMES": ("basisctl.rules.builders", "EXTRA_RULES"),
    "DEFAULT_RULE_NAMES": ("basisctl.rules.builders", "DEFAULT_RULES"),
    "EXPERIMENT_VENUES": ("basisctl.backtest.experiment", "VENUES"),
}
