"""Config validation: clear errors naming file, field and expectation; live needs account."""

from __future__ import annotations

from pathlib import Path

import pytest

from basisctl.live.config import ConfigError, example_config_path, load_config


def test_example_config_loads() -> None:
    cfg = load_config(example_config_path())
    assert cfg.mode == "paper" and cfg.venue.asset == "BTC"


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[limits]\nhedge_tolerance = 5\n")
    with pytest.raises(ConfigError, match=r"c\.toml: field 'limits\.hedge_tolerance'"):
        load_config(p)


def test_bad_value_names_expectation(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("cadence_seconds = -1\n")
    with pytest.raises(ConfigError, match=r"field 'cadence_seconds'.*greater than 0"):
        load_config(p)


def test_live_needs_account_and_real_venue(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('mode = "live"\n[venue]\nkind = "hyperliquid"\n')
    with pytest.raises(ConfigError, match="account"):
        load_config(p)
    p.write_text('mode = "live"\naccount = "0x0000000000000000000000000000000000000001"\n')
    with pytest.raises(ConfigError, match=r"venue\.kind"):
        load_config(p)


def test_fixed_band_needs_values(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[band]\nmode = "fixed"\nalpha_target = 0.2\n')
    with pytest.raises(ConfigError, match=r"band\.alpha_lower"):
        load_config(p)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("mode = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
