"""The one registry of liquidation-risk models and the one default (docs/risk.md, "Selecting a model").

Every command that sizes alpha (``static``, ``bands``, ``backtest``, ``venues``, ``allocate``,
``backtest-portfolio``, ``pi-liq``) takes its model name from here, so the CLI never branches on a model name.

* ``fhs`` is the default: the model that keeps its promise out of sample (coverage study, docs/risk.md).
* ``gbm`` is the paper's model (eq. 17, sigma stressed x ``--stress``): ``--model gbm`` / ``--risk-model gbm``
  reproduces the paper's numbers exactly.

This module imports nothing heavy: the CLI reads names and help text from it at ``--help`` time.
"""

from __future__ import annotations

from dataclasses import dataclass

from basisctl.errors import ModelDomainError


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its name, a one-line description and how it treats ``--stress``."""

    name: str
    summary: str
    #: True when the model is the paper's stressed closed form (``--stress`` applies); the other models are
    #: calibrated unstressed, as the coverage study tests them, and ignore ``--stress``.
    stressed: bool = False
    #: explicit parameters ``pi-liq`` accepts instead of calibrating from data (option names, in order)
    explicit: tuple[str, ...] = ()
    #: True when the model simulates or samples whole bars (fhs, evt): its horizon is a whole number of bars
    bar_based: bool = False


#: Name -> entry, in the order shown in ``--help``: the default first, the paper's model second.
MODELS: dict[str, ModelEntry] = {
    "fhs": ModelEntry("fhs", "filtered historical simulation, GARCH(1,1) + bootstrapped bars (tail-tested)",
                      bar_based=True),
    "gbm": ModelEntry("gbm", "the paper's closed form (eq. 17), sigma x --stress", stressed=True,
                      explicit=("sigma",)),
    "kou": ModelEntry("kou", "double-exponential jump diffusion",
                      explicit=("sigma", "jump_rate", "jump_p_up", "jump_mean_up", "jump_mean_down")),
    "evt": ModelEntry("evt", "peaks over threshold on the maximum excursion", bar_based=True),
    "adaptive": ModelEntry("adaptive", "eq. 39: GBM at a local EWMA sigma"),
}
RISK_MODELS: tuple[str, ...] = tuple(MODELS)
#: The model every command sizes with unless told otherwise.
DEFAULT_RISK_MODEL: str = "fhs"
#: The paper's model: one flag away (``--model gbm`` / ``--risk-model gbm``).
PAPER_RISK_MODEL: str = "gbm"
#: ``--help`` text listing the choices, the default and the paper's model.
MODEL_CHOICES_HELP: str = (f"{DEFAULT_RISK_MODEL} (default, tail-tested) | {PAPER_RISK_MODEL} (the paper, "
                           "stressed) | " + " | ".join(m for m in RISK_MODELS
                                                       if m not in (DEFAULT_RISK_MODEL, PAPER_RISK_MODEL))
                           + " (docs/risk.md)")


def check_model(name: str) -> str:
    """The registered name for ``name`` (case-insensitive); anything else is a one-line ModelDomainError."""
    m = str(name).strip().lower()
    if m not in MODELS:
        raise ModelDomainError(f"unknown risk model '{name}': expected one of {', '.join(RISK_MODELS)}")
    return m


def entry(name: str) -> ModelEntry:
    return MODELS[check_model(name)]


def is_stressed(name: str) -> bool:
    """True when ``--stress`` applies to the model (the paper's GBM); the others run unstressed."""
    return entry(name).stressed


def bar_horizon(name: str, horizon_hours: float, bar_hours: float) -> float:
    """The horizon a model can size on ``bar_hours`` bars [hours]: unchanged for closed forms; for bar-based
    models rounded up to whole bars (a longer horizon only raises alpha: conservative), with a ``warning:``."""
    import math

    if not entry(name).bar_based:
        return horizon_hours
    k = math.ceil(horizon_hours / bar_hours - 1e-9)
    h = max(k, 1) * bar_hours
    if abs(h - horizon_hours) > 1e-9:
        from basisctl.warnings import substitute

        substitute("default_input", f"{name}: {bar_hours:g}h bars cannot resolve a {horizon_hours:g}h horizon; "
                   f"sized over {h:g}h (whole bars; a longer horizon gives a larger, conservative alpha)")
    return h
