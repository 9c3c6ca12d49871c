"""Config validation: clear errors naming file, field and expectation; live needs account."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.live.config import ConfigError, example_config_path, load_config


def test_example_config_loads() -> None:
    cfg = load_config(example_config_path())
    assert cfg.mode == "paper" and cfg.venue.asset == "BTC"


#: (config text, what the one-line error must say): each a file that load_config refuses
REFUSED: list[tuple[str, str]] = [
    ("[limits]\nhedge_tolerance = 5\n", r"c\.toml: field 'limits\.hedge_tolerance'"),  # unknown field: file+field
    ("cadence_seconds = -1\n", r"field 'cadence_seconds'.*greater than 0"),  # bad value: the expectation
    ('mode = "live"\n[venue]\nkind = "hyperliquid"\n', "account"),  # live needs an account ...
    ('mode = "live"\naccount = "0x0000000000000000000000000000000000000001"\n', r"venue\.kind"),  # ... a real venue
    ('[band]\nmode = "fixed"\nalpha_target = 0.2\n', r"band\.alpha_lower"),  # a fixed band needs its values
    ("mode = \n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "match"), REFUSED)
def test_refused_config_names_file_field_and_expectation(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
