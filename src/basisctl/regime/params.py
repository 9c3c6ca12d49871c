"""Parameters of the regime rule (declared up front, never fitted on the window they are judged on)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from basisctl.forecast.models import MODEL_NAMES


class RegimeParams(BaseModel):
    """When to hold the basis trade.

    In the trade iff forecast net carry - alternative yield - hurdle > 0, with net carry [APR] =
    (1 - alpha_target) x 365 x kappa_hat - round-trip cost / (holding_days / 365) (kappa_hat = the model's mean
    daily funding over the next ``horizon_days``; round trip = entry + exit cost on the spot notional plus two
    transfers). Enter only when that margin exceeds ``hysteresis_apr``; exit when it is below 0, once
    ``min_hold_hours`` have passed since entry, but never later than ``exit_within_hours`` (H) after the first
    decision that saw it below 0. Decisions at UTC times that are multiples of ``decide_every_hours`` (<= H).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = "rolling_mean"
    horizon_days: int = Field(14, ge=1, le=365, description="forecast horizon of kappa_hat [days]")
    holding_days: float = Field(90.0, gt=0.0, description="expected holding period the round-trip cost is "
                                                          "amortised over [days]")
    hurdle_apr: float = Field(0.0, description="extra carry demanded over the alternative yield [APR]")
    hysteresis_apr: float = Field(0.01, ge=0.0, description="entry needs margin > this [APR]")
    min_hold_hours: float = Field(72.0, ge=0.0, description="minimum time in the trade after an entry [h]")
    exit_within_hours: float = Field(24.0, gt=0.0, description="H: exit at most this long after the crossing [h]")
    decide_every_hours: float = Field(24.0, gt=0.0, description="decision cadence [h], UTC-aligned")
    transfer_fee_bps: float = Field(0.0, ge=0.0, description="fee per transfer [bps of the capital moved]")
    transfer_fee_usd: float = Field(0.0, ge=0.0, description="fixed fee per transfer [USD]")
    transfer_delay_hours: float = Field(0.0, ge=0.0, description="time capital is in transit, earning nothing [h]")
    min_history_days: int = Field(30, ge=1, description="days of funding before the first forecast")

    @model_validator(mode="after")
    def _check(self) -> RegimeParams:
        if self.model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {', '.join(MODEL_NAMES)} (got {self.model!r})")
        if self.decide_every_hours > self.exit_within_hours:
            raise ValueError(f"decide_every_hours ({self.decide_every_hours:g}) must be <= exit_within_hours "
                             f"({self.exit_within_hours:g}): the rule could not exit within H")
        return self
