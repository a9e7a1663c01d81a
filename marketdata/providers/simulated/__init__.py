"""The simulated market-data provider: real history, carried to today by resampling it.

Why: only ~28 of the symbols SigmaSight uses have real daily history in the repo, and every
real series ends between 2018 and 2022 (``seed_data/PROVENANCE.md``). The risk engine needs a
price for every symbol on every session up to today, with realistic volatility, fat tails and
cross-correlations. This package makes them, deterministically for a given seed, and labels
every value it makes ``source="simulated"`` (docs RISK-MODEL.md, "Data").

How a close is made (all returns are daily log returns):

* **Real rows** are the rows of ``seed_data/real_history.csv.gz`` as they are, with their
  dataset name as ``source``. They stop at each symbol's last real date.
* **Joint stationary block bootstrap** (Politis-Romano, mean block 5 sessions). Every session
  after the last real date of the file draws one *real day* from the pool of days on which
  at least 90% of the real-history symbols (and every symbol without a proxy, i.e. ^GSPC)
  have a return: 2014-01-03 to 2022-12-28 in the shipped file. Each symbol then takes its
  own real return of that same day, so cross-correlations, fat tails and the co-movement in
  crashes survive. A new block starts with probability 1/5 per session, else the next real
  day follows (wrapping around the pool).
* **Proxy relation.** A symbol with no real return on a day (a proxied symbol, or a real one
  whose file ends early, e.g. ^IXIC after 2018, ^VIX after 2019-01-03) takes
  ``r = beta * r_proxy + e``, ``e ~ N(0, residual_vol^2 / 252)``, with the proxy, beta and
  residual volatility stated in ``securities.json`` (a basket proxy is a weighted sum of its
  members' returns). Proxied symbols start at 2014-01-02 (or their first trading date, if
  later) and their path is scaled so that the close on ``anchor.date`` is ``anchor.close``
  (a real close; 100.0 where the anchor is unknown, see REFERENCE_DATA.md).
* **^VIX** is a level, not a price: its simulated log level mean-reverts (see
  ``mean_reversion`` in securities.json) so that it stays in its historical range.

Determinism and stability: randomness comes from a counter-based generator (splitmix64 of a
BLAKE2 key of (seed, stream, symbol) and the session's date), not from a sequential stream.
Each session's bootstrap draw depends only on (seed, date), each residual only on
(seed, symbol, date), and every recursion (block chain, EWMA volatility, mean reversion)
runs forward in time. So a value never depends on which symbols are requested, on
start/end, or on ``today`` for dates before it: moving ``today`` later only appends. The
generated universe is cached in memory per (files, seed); a cached universe that reaches at
least as far as a new ``today`` serves it unchanged.

Bars: simulated rows get OHLC from the close path with the intraday shape of the real
^GSPC OHLC (2008-2018; overnight gap as a share of the return plus noise, and the excursions
of high and low beyond the open-close body, all in units of the day's volatility), scaled by
the symbol's own EWMA volatility. Volume is a per-symbol level (median of the last 252 real
volumes where the file has them, else a dollar-volume default per asset type) times noise
that rises with |return| and with the volatility regime, also calibrated on ^GSPC. Real
skfolio rows keep their empty OHLC and volume. Simulated rows' ``adj_close`` is the close
backward-adjusted for the simulated dividends (``dividends``: quarterly, yield / 4 × the
prior close; the factor 1 − D / prior close, as of the request's last session); real rows
keep their shipped ``adj_close``.

The index universe (``index_universe``, ``derived``): ~1,090 S&P 500, S&P 600 and
NASDAQ-100 names from ``seed_data/index_universe.json``, each on a stated proxy (its sector's
real-history basket or ^GSPC, beta 1, a fitted residual volatility), generated one name at a
time from the joint universe's returns and cached on it.

Units: prices in USD per share (index points for indices), volume in shares (NaN where
unknown), volatilities annualized fractions with 252 sessions a year unless named daily,
rates continuously compounded annual decimals, timestamps aware UTC.

Modules, each importing only those before it: ``streams`` (the counter-based random
streams), ``reference`` (reading the real history and securities.json), ``paths`` (the
bootstrap, proxies, mean reversion and EWMA volatility of the closes), ``bars`` (OHLC and
volume, calibrated on ^GSPC), ``universe`` (the session grid and its cache), ``quotes``
(equity and option quotes), ``provider`` (``SimulatedProvider``); ``index_universe``
(building the index universe's file), ``derived`` (its names' series) and ``dividends``
come before ``provider``.
"""

from marketdata.providers.simulated.paths import PROXY_HISTORY_START
from marketdata.providers.simulated.provider import (
    DEFAULT_RATE,
    DEFAULT_SEED,
    SimulatedProvider,
)
from marketdata.providers.simulated.quotes import option_sigma
from marketdata.providers.simulated.reference import (
    DEFAULT_HISTORY_PATH,
    DEFAULT_REFERENCE_PATH,
    SEED_DIR,
)
from marketdata.providers.simulated.universe import SIMULATED, clear_cache

__all__ = [
    "DEFAULT_HISTORY_PATH",
    "DEFAULT_RATE",
    "DEFAULT_REFERENCE_PATH",
    "DEFAULT_SEED",
    "PROXY_HISTORY_START",
    "SEED_DIR",
    "SIMULATED",
    "SimulatedProvider",
    "clear_cache",
    "option_sigma",
]
