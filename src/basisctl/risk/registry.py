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


#: Name -> entry, in the order shown in ``--help``: the default first, the paper's model second.
MODELS: dict[str, ModelEntry] = {
    "fhs": ModelEntry("fhs", "filtered historical simulation, GARCH(1,1) + bootstrapped bars (tail-tested)"),
    "gbm": ModelEntry("gbm", "the paper's closed form (eq. 17), sigma x --stress", stressed=True,
                      explicit=("sigma",)),
    "kou": ModelEntry("kou", "double-exponential jump diffusion",
                      explicit=("sigma", "jump_rate", "jump_p_up", "jump_mean_up", "jump_mean_down")),
    "evt": ModelEntry("evt", "peaks over threshold on the maximum excursion"),
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
