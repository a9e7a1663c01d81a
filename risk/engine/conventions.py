"""Conventions every numeric module shares, defined once (RISK-MODEL.md).

Pure constants: the engines, the simulated provider and the risk services all read them
from here, so that a volatility annualized in one place is annualized the same way in
every other.
"""

from __future__ import annotations

#: Trading days per year: daily variances are annualized x 252, volatilities x sqrt(252),
#: an annual rate r is r / 252 (simple) or (1 + r) ** (1/252) - 1 (compounded) per day.
TRADING_DAYS_PER_YEAR = 252

#: RiskMetrics decay of the EWMA variance and covariance (RISK-MODEL.md: realized
#: volatility and the factor covariance), per trading day.
EWMA_LAMBDA = 0.94

#: Underlyings whose options are priced with Black-76, the index level standing in for
#: the futures price (VIX options); every other option is Black-Scholes-Merton.
BLACK76_UNDERLYINGS: frozenset[str] = frozenset({"^VIX"})

#: Contract multiplier of a listed equity option (shares per contract).
OPTION_MULTIPLIER = 100
