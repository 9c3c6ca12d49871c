"""Issue 19 (N2): the typed models of Hyperliquid's /info responses parse every recorded real response of the
types the adapter reads, ignore extra fields, and refuse a missing or malformed field naming it."""

from __future__ import annotations

import pytest

from basisctl.live.guards import VenueDataError
from basisctl.venues.hyperliquid import models as m

from .hl_fixtures import recorded

#: request type -> model of one response (None: a list of rows)
MODELS = {
    "meta": m.Meta,
    "clearinghouseState": m.ClearinghouseState,
    "l2Book": m.L2Book,
    "userFills": list[m.UserFill],
    "userFillsByTime": list[m.UserFill],
    "userFunding": list[m.UserFunding],
    "userNonFundingLedgerUpdates": list[m.LedgerUpdate],
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_recorded_response_parses(kind: str) -> None:
    rec = recorded()[kind]
    assert rec, kind
    for path, _, body in rec:
        got = m.parse(MODELS[kind], body, kind)
        assert got is not None, path


def test_recorded_spot_meta_parses() -> None:
    for _, _, body in recorded()["spotMetaAndAssetCtxs"]:
        sm = m.parse(m.SpotMeta, body[0], "spotMeta")
        assert len(sm.tokens) > 100 and len(sm.universe) > 100


def test_recorded_clearinghouse_values_by_hand() -> None:
    body = next(b for p, _, b in recorded()["clearinghouseState"] if "info_test/test_get_user_state" in p)
    ch = m.parse(m.ClearinghouseState, body, "clearinghouseState")
    btc = next(a.position for a in ch.assetPositions if a.position.coin == "BTC")
    assert btc.szi == -0.00785 and ch.marginSummary.accountValue == 1182.312496


@pytest.mark.parametrize(
    ("kind", "mutate", "field"),
    [
        ("l2Book", lambda b: b["levels"][0][0].__setitem__("px", "abc"), "l2Book.levels[0][0].px"),
        ("userFillsByTime", lambda b: b[0].__setitem__("sz", None), "userFillsByTime[0].sz"),
        ("userFillsByTime", lambda b: b[0].__setitem__("px", "abc"), "userFillsByTime[0].px"),
        ("userFillsByTime", lambda b: b[0].__setitem__("time", "abc"), "userFillsByTime[0].time"),
        ("userFunding", lambda b: b[0]["delta"].__setitem__("usdc", "abc"), "userFunding[0].delta.usdc"),
        ("clearinghouseState", lambda b: b["marginSummary"].pop("accountValue"),
         "clearinghouseState.marginSummary.accountValue"),
        ("clearinghouseState", lambda b: b["assetPositions"][0]["position"].__setitem__("szi", True),
         "clearinghouseState.assetPositions[0].position.szi"),
        ("l2Book", lambda b: b["levels"][1][0].__setitem__("px", "-1"), "l2Book.levels[1][0].px"),
        ("userFillsByTime", lambda b: b[0].__setitem__("px", "inf"), "userFillsByTime[0].px"),
    ],
)
def test_malformed_field_is_named(kind: str, mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    body = copy.deepcopy(next(b for _, _, b in recorded()[kind] if b))
    m.parse(MODELS[kind], body, kind)  # the recorded one parses
    mutate(body)
    with pytest.raises(VenueDataError, match=r"malformed " + field.replace("[", r"\[").replace("]", r"\]")):
        m.parse(MODELS[kind], body, kind)


def test_extra_fields_are_ignored() -> None:
    body = next(b for _, _, b in recorded()["l2Book"] if b)
    got = m.parse(m.L2Book, {**body, "somethingNew": {"x": 1}}, "l2Book")
    assert got.levels[0][0].px == float(body["levels"][0][0]["px"])
