"""The 0DTE universe (API-CONVENTIONS, "Symbols"): SPY, QQQ and IWM, and the VIX beside them."""

from __future__ import annotations

#: The tickers /market/*, /ws/market/{symbol} and the signals cover.
ZERO_DTE_TICKERS: tuple[str, ...] = ("SPY", "QQQ", "IWM")
#: The VIX, served through /market/correlation and /risk/regime.
VIX_SYMBOL = "^VIX"
#: Whose minutes the market producer stores.
INTRADAY_SYMBOLS: tuple[str, ...] = (*ZERO_DTE_TICKERS, VIX_SYMBOL)
#: Full bid-ask spread of the intraday quote of the 0DTE ETFs, basis points of the price
#: (their simulated end-of-day quotes use the same tier-1 spread).
INTRADAY_SPREAD_BPS = 1.0
