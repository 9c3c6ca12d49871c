"""1inch v6 / 0x v2 quote clients against local servers speaking the documented shapes and errors."""

from __future__ import annotations

import pytest

from basisctl.execution.quotes import (
    AggregatorError,
    NoLiquidityError,
    OneInchClient,
    QuoteStore,
    RateLimitError,
    StaleQuoteError,
    ZeroExClient,
)

USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"

ONEINCH_OK = {
    "srcToken": {"address": USDC, "symbol": "USDC", "decimals": 6},
    "dstToken": {"address": WETH, "symbol": "WETH", "decimals": 18},
    "dstAmount": "33800000000000000000",
    "protocols": [[[{"name": "UNISWAP_V3", "part": 60, "fromTokenAddress": USDC, "toTokenAddress": WETH},
                    {"name": "CURVE_V2", "part": 40, "fromTokenAddress": USDC, "toTokenAddress": WETH}]]],
    "gas": 183000,
}
ZEROX_OK = {
    "blockNumber": "21000000", "buyAmount": "99800000000", "buyToken": USDC, "sellAmount": "33900000000000000000",
    "sellToken": WETH, "gas": "210000", "gasPrice": "9000000000", "liquidityAvailable": True,
    "minBuyAmount": "99300000000", "totalNetworkFee": "1890000000000000",
    "route": {"fills": [{"from": WETH, "to": USDC, "source": "Uniswap_V3", "proportionBps": "7000"},
                        {"from": WETH, "to": USDC, "source": "Maverick_V2", "proportionBps": "3000"}],
              "tokens": [{"address": WETH, "symbol": "WETH"}, {"address": USDC, "symbol": "USDC"}]},
    "fees": {"integratorFee": None, "zeroExFee": None, "gasFee": None}, "issues": {}, "zid": "0xabc",
}


def test_oneinch_quote_normalised_and_stored(local_server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ONEINCH_API_KEY", "k-123")
    local_server.handler = lambda r: (200, {}, ONEINCH_OK)
    store = QuoteStore(tmp_path / "quotes.sqlite")
    with OneInchClient(base_url=local_server.base_url, store=store) as c:
        q = c.quote(1, USDC, WETH, 100_000 * 10**6, reference_price=1 / 2948.5)
    req = local_server.requests[0]
    assert req.path == "/swap/v6.0/1/quote" and req.query["amount"] == "100000000000"
    assert req.query["src"] == USDC and req.query["includeProtocols"] == "true"
    assert req.headers["authorization"] == "Bearer k-123"
    assert q.buy_amount == 33_800_000_000_000_000_000 and q.sell_decimals == 6 and q.buy_decimals == 18
    assert q.effective_price == pytest.approx(33.8 / 100_000)
    assert q.price_impact_bps == pytest.approx((1 - (33.8 / 100_000) * 2948.5) * 1e4)
    assert q.route == ("UNISWAP_V3", "CURVE_V2") and q.gas_estimate == 183000
    assert q.is_valid(q.ts_ms) and not q.is_valid(q.valid_until_ms + 1)
    stored = store.quotes()
    assert len(stored) == 1 and stored[0] == q and "k-123" not in (tmp_path / "quotes.sqlite").read_bytes().decode(
        "latin-1")


def test_oneinch_insufficient_liquidity(local_server) -> None:  # type: ignore[no-untyped-def]
    local_server.handler = lambda r: (400, {}, {"error": "Bad Request", "description": "insufficient liquidity",
                                                "statusCode": 400, "requestId": "x", "meta": []})
    with OneInchClient(base_url=local_server.base_url) as c, pytest.raises(NoLiquidityError,
                                                                           match="insufficient liquidity"):
        c.quote(1, USDC, WETH, 10**30)


def test_rate_limit_retried_then_raised(local_server) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def h(r):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] <= 2:
            return 429, {"Retry-After": "1.5"}, {"error": "Too Many Requests", "statusCode": 429}
        return 200, {}, ONEINCH_OK

    local_server.handler = h
    slept: list[float] = []
    with OneInchClient(base_url=local_server.base_url, sleep=slept.append, max_retries=2) as c:
        q = c.quote(1, USDC, WETH, 10**11)
    assert slept == [1.5, 1.5] and q.buy_amount > 0 and calls["n"] == 3
    local_server.handler = lambda r: (429, {"Retry-After": "7"}, {"statusCode": 429})
    with OneInchClient(base_url=local_server.base_url, sleep=slept.append, max_retries=1) as c, \
            pytest.raises(RateLimitError) as e:
        c.quote(1, USDC, WETH, 10**11)
    assert e.value.retry_after_s == 7.0 and e.value.status == 429


def test_zerox_price_normalised(local_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ZEROX_API_KEY", "zx")
    local_server.handler = lambda r: (200, {}, ZEROX_OK)
    with ZeroExClient(base_url=local_server.base_url) as c:
        q = c.price(1, WETH, USDC, 339 * 10**17, sell_decimals=18, buy_decimals=6)
    req = local_server.requests[0]
    assert req.path == "/swap/permit2/price" and req.query["chainId"] == "1"
    assert req.headers["0x-api-key"] == "zx" and req.headers["0x-version"] == "v2"
    assert q.effective_price == pytest.approx(99_800 / 33.9)
    assert q.route == ("Uniswap_V3", "Maverick_V2") and q.gas_estimate == 210000 and q.block_number == 21000000


def test_zerox_no_liquidity_and_errors(local_server) -> None:  # type: ignore[no-untyped-def]
    local_server.handler = lambda r: (200, {}, {"liquidityAvailable": False, "zid": "0x1"})
    with ZeroExClient(base_url=local_server.base_url) as c, pytest.raises(NoLiquidityError):
        c.price(1, WETH, USDC, 10**18, sell_decimals=18, buy_decimals=6)
    local_server.handler = lambda r: (400, {}, {"name": "INPUT_INVALID", "message": "Validation Failed",
                                                "data": {"details": [{"field": "sellAmount"}]}})
    with ZeroExClient(base_url=local_server.base_url) as c, pytest.raises(AggregatorError, match="Validation Failed"):
        c.price(1, WETH, USDC, 10**18, sell_decimals=18, buy_decimals=6)
    local_server.handler = lambda r: (500, {}, "upstream exploded")
    with ZeroExClient(base_url=local_server.base_url) as c, pytest.raises(AggregatorError, match="HTTP 500"):
        c.price(1, WETH, USDC, 10**18, sell_decimals=18, buy_decimals=6)


def test_stale_quote_recorded_and_rejected(local_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    local_server.handler = lambda r: (200, {}, ONEINCH_OK)
    ticks = iter([1000.0, 1004.0])  # the round trip "took" 4 s
    store = QuoteStore(tmp_path / "q.sqlite")
    with OneInchClient(base_url=local_server.base_url, store=store, max_latency_s=3.0,
                       clock=lambda: next(ticks)) as c, pytest.raises(StaleQuoteError, match="stale on arrival"):
        c.quote(1, USDC, WETH, 10**11)
    (rec,) = store.quotes()
    assert rec.stale and rec.latency_ms == pytest.approx(4000.0)
    with pytest.raises(StaleQuoteError):
        rec.require_fresh(rec.ts_ms)
    df = store.to_frame()
    assert list(df["venue"]) == ["1inch"] and bool(df["stale"].iloc[0])


def test_aggregator_spot_leg_feeds_instant_cost(local_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from basisctl.execution.costs import FlatLeg, InstantCost
    from basisctl.execution.quotes import AggregatorSpotLeg

    def h(r):  # type: ignore[no-untyped-def]
        if r.query["src"] == USDC:  # buy ETH: 100k USDC -> 33.8 ETH
            return 200, {}, dict(ONEINCH_OK, dstAmount=str(int(r.query["amount"]) * 338 * 10**9 // 1000))
        if int(r.query["amount"]) > 10**21:
            return 400, {}, {"error": "Bad Request", "description": "insufficient liquidity", "statusCode": 400}
        return 200, {}, dict(ONEINCH_OK, dstAmount=str(int(r.query["amount"]) * 2940 // 10**12))

    local_server.handler = h
    store = QuoteStore(tmp_path / "q.sqlite")
    with OneInchClient(base_url=local_server.base_url, store=store) as c:
        leg = AggregatorSpotLeg(c, 1, (WETH, 18), (USDC, 6), mid_usd=lambda: 2950.0)
        buy = InstantCost("buy-basis", leg, FlatLeg(4.5))
        sell = InstantCost("sell-basis", leg, FlatLeg(4.5))
        # buy: pay q USDC, get q * 0.338e-3 ETH -> eff = 1/0.000338 USD/ETH vs mid 2950
        assert buy(1e5) == pytest.approx((1 / 0.000338 / 2950 - 1) * 1e4 + 4.5, rel=1e-9)
        assert sell(1e5) == pytest.approx((1 - 2940 / 2950) * 1e4 + 4.5, rel=1e-6)
        assert sell(1e7) == float("inf")  # no route for > 1000 ETH
    assert len(store.quotes()) == 2  # the failed (no-route) request produced no quote
