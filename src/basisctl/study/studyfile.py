"""The study file (TOML): candidates, settings, block length, decision rule and ``holdout_from``, with its hash.

Everything a result depends on and that could be tuned after seeing data is read from here, and
:attr:`Study.sha256` (the SHA-256 of the file's bytes) is printed with every result, so a reader can tell
whether two results came from the same pre-registered study. ``default_study.toml`` ships with the package.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from basisctl.errors import BasisctlError

WINDOWS: dict[str, int] = {"3M": 3, "6M": 6, "1Y": 12}  # window label -> months
GENERATORS: tuple[str, ...] = ("fhs", "kou")
MIN_BLOCK_DAYS: int = 30
# the decision rules ``study.run.decide`` applies; the study file must state one of them word for word (whitespace
# aside): it is printed with the verdict, so it must be the rule that produced the verdict.
#: as first registered: each candidate against ``paper`` only, the largest mean d_return among the preferred wins
DECISION_RULE_V1: str = ("prefer X over paper if the paired d_return CI is above 0 and the d_liq_rate CI is not "
                         "above 0")
#: the safety-first amendment (docs/rules.md "Decision rule"): among the preferred, a candidate whose paired
#: liquidation-rate difference CI against another preferred candidate lies above 0 is dropped before the largest mean
#: d_return wins
DECISION_RULE: str = (f"{DECISION_RULE_V1}; among the preferred, drop X if the paired CI of its liquidation rate "
                      "minus another preferred candidate's is above 0; the largest mean d_return among the rest wins")
DECISION_RULES: tuple[str, ...] = (DECISION_RULE_V1, DECISION_RULE)


class StudyFileError(BasisctlError, ValueError):
    """A study file that cannot be read or breaks a rule (names the file and the field)."""


@dataclass(frozen=True)
class Study:
    """A parsed study file. Units: days, years, bps of notional, USD; ``level`` a probability."""

    source: str
    sha256: str
    name: str
    candidates: tuple[str, ...]
    optimal_floor_model: str
    holdout_from: pd.Timestamp
    seed: int
    window: str
    funding_venue: str
    lookback_days: float
    generators: tuple[str, ...]
    paths: int
    years: float
    burn_in_days: float
    block_days: int
    split: str
    cost_bps: float | None  # None = paper Table VIII per asset
    q_min_usd: float
    capital_usd: float
    decision_rule: str
    level: float
    bootstrap_reps: int
    grid_name: str
    grid: tuple[float, ...]
    cscv_blocks: int
    #: the ``[regime]`` section (:class:`basisctl.study.regime_candidate.RegimeStudy`) when regime is a candidate
    regime: Any = None

    @property
    def safety_first(self) -> bool:
        """Whether the decision rule carries the safety-first clause (:data:`DECISION_RULE`), else it is
        :data:`DECISION_RULE_V1` (a study file registered with it keeps giving its registered verdict)."""
        return " ".join(self.decision_rule.split()) == DECISION_RULE

    @property
    def window_months(self) -> int:
        return WINDOWS[self.window]

    def with_(self, **kw: Any) -> Study:
        """A copy with fields replaced (CLI overrides such as ``--paths``). A changed field changes the hash: it
        becomes the SHA-256 of the file's hash and the sorted overrides, so a result never carries the hash of a
        study that did not run."""
        from dataclasses import replace

        changed = {k: v for k, v in kw.items() if getattr(self, k) != v}
        if not changed or "sha256" in kw:
            return replace(self, **kw)
        key = self.sha256 + "".join(f"\n{k}={changed[k]!r}" for k in sorted(changed))
        return replace(self, **kw, sha256=hashlib.sha256(key.encode()).hexdigest())


def _get(d: dict[str, Any], src: str, section: str, key: str, typ: type | tuple[type, ...]) -> Any:
    sec = d.get(section)
    if not isinstance(sec, dict) or key not in sec:
        raise StudyFileError(f"{src}: missing field [{section}] {key}")
    v = sec[key]
    if isinstance(v, bool) or not isinstance(v, typ):
        names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
        raise StudyFileError(f"{src}: [{section}] {key} must be {names} (got {v!r})")
    return v


def parse_study(text: bytes, source: str) -> Study:
    """Parse and validate the study file's bytes (``source`` names it in errors)."""
    from basisctl.rules.builders import EXTRA_RULES, RULES, STUDY_RULES

    try:
        d = tomllib.loads(text.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise StudyFileError(f"{source}: not valid TOML ({e})") from e
    cands = tuple(_get(d, source, "study", "candidates", list))
    from basisctl.study.regime_candidate import NAME as REGIME
    from basisctl.study.regime_candidate import parse_regime

    known = set(RULES + EXTRA_RULES + STUDY_RULES) | {REGIME}
    bad = [c for c in cands if c not in known]
    if bad or "paper" not in cands or len(set(cands)) != len(cands):
        raise StudyFileError(f"{source}: [study] candidates must be distinct rule names including 'paper' "
                             f"(unknown: {', '.join(map(str, bad)) or 'none'}; known: {', '.join(sorted(known))})")
    model = _get(d, source, "study", "optimal_floor_model", str)
    try:
        hold = pd.Timestamp(_get(d, source, "study", "holdout_from", str), tz="UTC")
    except ValueError as e:
        raise StudyFileError(f"{source}: [study] holdout_from must be a date YYYY-MM-DD ({e})") from e
    window = _get(d, source, "real", "window", str)
    if window not in WINDOWS:
        raise StudyFileError(f"{source}: [real] window must be one of {', '.join(WINDOWS)} (got {window!r})")
    gens = tuple(_get(d, source, "simulated", "generators", list))
    if not set(gens) <= set(GENERATORS):
        raise StudyFileError(f"{source}: [simulated] generators must be among {', '.join(GENERATORS)} (got {gens})")
    block = _get(d, source, "simulated", "block_days", int)
    if block < MIN_BLOCK_DAYS:
        raise StudyFileError(f"{source}: [simulated] block_days must be >= {MIN_BLOCK_DAYS} (got {block})")
    paths = _get(d, source, "simulated", "paths", int)
    if paths < 0:
        raise StudyFileError(f"{source}: [simulated] paths must be >= 0 (got {paths})")
    cost = _get(d, source, "costs", "cost_bps", (str, int, float))
    if isinstance(cost, str) and cost != "paper":
        raise StudyFileError(f"{source}: [costs] cost_bps must be \"paper\" or a number of bps (got {cost!r})")
    rule = _get(d, source, "decision", "rule", str)
    if " ".join(rule.split()) not in DECISION_RULES:
        raise StudyFileError(f"{source}: [decision] rule must be a rule the verdict applies: {DECISION_RULE!r} "
                             f"or, as first registered, {DECISION_RULE_V1!r} (got {rule!r})")
    level = float(_get(d, source, "decision", "level", float))
    if not 0.5 < level < 1.0:
        raise StudyFileError(f"{source}: [decision] level must lie in (0.5, 1) (got {level})")
    grid = tuple(float(x) for x in _get(d, source, "tuning", "grid", list))
    years = float(_get(d, source, "simulated", "years", (int, float)))
    burn = float(_get(d, source, "simulated", "burn_in_days", (int, float)))
    if years <= 0 or burn < 30:
        raise StudyFileError(f"{source}: [simulated] years must be > 0 and burn_in_days >= 30")
    return Study(
        source=source, sha256=hashlib.sha256(text).hexdigest(), name=str(_get(d, source, "study", "name", str)),
        candidates=cands, optimal_floor_model=model, holdout_from=hold,
        seed=int(_get(d, source, "study", "seed", int)), window=window,
        funding_venue=_get(d, source, "real", "funding_venue", str),
        lookback_days=float(_get(d, source, "real", "lookback_days", (int, float))), generators=gens,
        paths=paths, years=years, burn_in_days=burn, block_days=block,
        split=_get(d, source, "simulated", "split", str), cost_bps=None if isinstance(cost, str) else float(cost),
        q_min_usd=float(_get(d, source, "costs", "q_min_usd", (int, float))),
        capital_usd=float(_get(d, source, "costs", "capital_usd", (int, float))),
        decision_rule=rule, level=level,
        bootstrap_reps=int(_get(d, source, "decision", "bootstrap_reps", int)),
        grid_name=_get(d, source, "tuning", "grid_name", str), grid=grid,
        cscv_blocks=int(_get(d, source, "tuning", "cscv_blocks", int)),
        regime=parse_regime(d, source, cands),
    )


#: studies shipped with the package, selectable by name (``--study-file regime``)
PACKAGED_STUDIES = ("default", "regime")


def load_study(path: str | Path | None = None) -> Study:
    """The study file at ``path``, a packaged study by name (:data:`PACKAGED_STUDIES`), or the packaged default."""
    if path is None or (str(path) in PACKAGED_STUDIES and not Path(path).exists()):
        name = f"{path or 'default'}_study.toml"
        data = resources.files("basisctl.study").joinpath(name).read_bytes()
        return parse_study(data, name)
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise StudyFileError(f"{p}: cannot read the study file ({e.strerror})") from e
    return parse_study(data, str(p))
