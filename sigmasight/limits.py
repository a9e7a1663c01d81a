"""The stated limits of what the book accepts (README, "Input limits").

Body fields (sigmasight.api.fields) reject values outside them with a 422; the
portfolio services check the products (a trade's cash, an accumulated quantity) against
the columns that store them, so that no valid-looking request writes and then fails.
Pure Python: no Django.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

#: Dates a body may carry (trade, entry, exit, cash dates).
DATE_MIN = dt.date(1970, 1, 1)
DATE_MAX = dt.date(2099, 12, 31)
#: Per-unit prices (per share; per option share for options): a hundredth of a cent at
#: least, and at most 10^6 (BRK.A, the dearest US share, trades below it). The floor keeps
#: a P&L percent (which divides by the entry price) a finite, representable figure.
PRICE_MIN = Decimal("0.0001")
PRICE_MAX = Decimal(1_000_000)
#: |quantity| in shares or contracts: the position column holds 14 integer digits.
QUANTITY_MAX = Decimal(10) ** 13
#: One cash movement, dollars (the ledger column holds 18 integer digits).
CASH_MAX = Decimal(10) ** 15
FEES_MAX = Decimal(1_000_000)
#: |quantity × price × multiplier| of one trade or position, dollars, stays below this:
#: what the ledger's amount column (NUMERIC(20, 2)) holds.
MONEY_MAX = Decimal(10) ** 18
#: Options: a strike is positive and at most this multiple of the underlying's latest price
#: (and at least its reciprocal): SPY at 550 admits strikes 55–5,500. Listed strikes stay far
#: inside it (the widest LEAPS ladders run about 0.2×–3× spot).
STRIKE_SPOT_MULTIPLE = Decimal(10)
#: Without a stored price of the underlying, the strike alone must be at most this, dollars
#: (index strikes run to a few 10^4: NDX near 25,000).
STRIKE_MAX = Decimal(50_000)
