"""OCC option symbols: parsing and the canonical form. Pure Python, no Django.

The canonical symbol (OSI, as used by the OCC, Polygon without its ``O:`` prefix, and most
brokers' APIs) is the root, the expiry as YYMMDD, ``C`` or ``P``, and the strike times
1000 in 8 digits: ``SPY240920C00550000`` is the SPY call expiring 2024-09-20 struck at
$550.

:func:`parse_occ` accepts, case-insensitively, after stripping surrounding whitespace:

* ``SPY240920C00550000``: canonical;
* ``SPY_240920C00550000``: one underscore between root and date;
* ``SPY   240920C00550000``: the 21-character OCC form, root padded with spaces to 6
  (any run of spaces between root and date is accepted);
* ``SPY240115C445``, ``SPY240115P445.5``: the short form, strike in dollars with at most
  3 decimals. A strike of exactly 8 digits and no point is always read as the OCC
  thousandths form (a dollar strike of 8 digits would be $10 million or more).

Roots: 1 to 6 letters or digits, starting with a letter (``SPY``, ``SPXW``, ``AAPL1`` for
an adjusted series). One dot inside the root is accepted (``BRK.B``): the contract keeps
the root as written as its ``underlying``, and the canonical symbol drops the dot
(``BRKB...``), because OCC roots are alphanumeric. Mapping an OCC root back to a listed
symbol (``BRKB`` to ``BRK.B``, ``SPXW`` to ``SPX``) needs reference data and is left to
the caller. Years are 20YY. The multiplier is not part of the symbol: 100 by default.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["InvalidOptionSymbol", "OptionContract", "looks_like_option", "parse_occ"]

_MAX_STRIKE_THOUSANDTHS = 99_999_999  # 8 digits: strikes up to $99,999.999
_THOUSAND = Decimal(1000)

_SYMBOL_RE = re.compile(
    r"""
    (?P<root>[A-Z][A-Z0-9.]{0,6}?)   # root, lazily: the date is the last 6 digits before C/P
    (?:\ +|_)?                        # optional padding or underscore
    (?P<date>\d{6})
    (?P<right>[CP])
    (?P<strike>\d+(?:\.\d*)?)
    """,
    re.VERBOSE,
)
_ROOT_RE = re.compile(r"[A-Z][A-Z0-9]*(?:\.[A-Z0-9]+)?")


class InvalidOptionSymbol(ValueError):
    """An option symbol or contract that does not follow the OCC conventions."""


def _plain(d: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation: 550.000 -> 550."""
    n = d.normalize()
    return n.quantize(Decimal(1)) if n.as_tuple().exponent > 0 else n  # type: ignore[operator]


def _occ_root(underlying: str) -> str:
    return underlying.replace(".", "")


@dataclass(frozen=True)
class OptionContract:
    """One listed option: ``strike`` in dollars per share (a Decimal with at most 3
    decimals), ``right`` "C" or "P", ``multiplier`` shares per contract (100 unless the
    series is adjusted). The underlying and right are stored upper-case; an int or str
    strike is converted to Decimal. Raises :class:`InvalidOptionSymbol` when the contract
    cannot be written as an OCC symbol."""

    underlying: str
    expiry: datetime.date
    right: str
    strike: Decimal
    multiplier: int = 100

    def __post_init__(self) -> None:
        underlying = str(self.underlying).strip().upper()
        if not _ROOT_RE.fullmatch(underlying) or not 1 <= len(_occ_root(underlying)) <= 6:
            raise InvalidOptionSymbol(
                f"invalid underlying {self.underlying!r}: expected a root of 1 to 6 letters "
                "or digits starting with a letter, with at most one inner dot"
            )
        right = str(self.right).strip().upper()
        if right not in ("C", "P"):
            raise InvalidOptionSymbol(f"invalid right {self.right!r}: expected 'C' or 'P'")
        if isinstance(self.expiry, datetime.datetime) or not isinstance(self.expiry, datetime.date):
            raise InvalidOptionSymbol(f"expiry must be a datetime.date, got {self.expiry!r}")
        if not 2000 <= self.expiry.year <= 2099:
            raise InvalidOptionSymbol(f"expiry {self.expiry} is outside 2000-2099 (YYMMDD)")
        if isinstance(self.strike, bool) or not isinstance(self.strike, (Decimal, int, str)):
            raise InvalidOptionSymbol(
                f"strike must be a Decimal (or int/str), got {type(self.strike).__name__}"
            )
        try:
            strike = Decimal(self.strike)
        except InvalidOperation:
            raise InvalidOptionSymbol(f"invalid strike {self.strike!r}") from None
        if not strike.is_finite() or strike <= 0:
            raise InvalidOptionSymbol(f"strike must be positive, got {self.strike!r}")
        thousandths = strike * _THOUSAND
        if thousandths != thousandths.to_integral_value():
            raise InvalidOptionSymbol(f"strike {strike} has more than 3 decimals")
        if thousandths > _MAX_STRIKE_THOUSANDTHS:
            raise InvalidOptionSymbol(f"strike {strike} does not fit 8 OCC digits")
        if isinstance(self.multiplier, bool) or not isinstance(self.multiplier, int):
            raise InvalidOptionSymbol(f"multiplier must be an int, got {self.multiplier!r}")
        if self.multiplier <= 0:
            raise InvalidOptionSymbol(f"multiplier must be positive, got {self.multiplier}")
        object.__setattr__(self, "underlying", underlying)
        object.__setattr__(self, "right", right)
        object.__setattr__(self, "strike", _plain(strike))

    @property
    def occ_symbol(self) -> str:
        """Canonical OCC symbol: root (no dot) + YYMMDD + C/P + strike x 1000 in 8 digits,
        e.g. ``SPY240920C00550000``."""
        thousandths = int(self.strike * _THOUSAND)
        return f"{_occ_root(self.underlying)}{self.expiry:%y%m%d}{self.right}{thousandths:08d}"

    @property
    def is_call(self) -> bool:
        return self.right == "C"

    def __str__(self) -> str:
        return self.occ_symbol


def parse_occ(symbol: str) -> OptionContract:
    """Parse an OCC option symbol in any of the forms listed in the module docstring.

    Raises :class:`InvalidOptionSymbol` (a ValueError) naming what is wrong: the overall
    shape, the date, the right or the strike.
    """
    if not isinstance(symbol, str):
        raise InvalidOptionSymbol(f"option symbol must be a str, got {type(symbol).__name__}")
    text = symbol.strip().upper()
    match = _SYMBOL_RE.fullmatch(text)
    if match is None:
        raise InvalidOptionSymbol(
            f"not an OCC option symbol: {symbol!r} (expected ROOT + YYMMDD + C/P + strike, "
            "e.g. SPY240920C00550000 or SPY240920C550)"
        )
    root, date, right, strike_text = match.group("root", "date", "right", "strike")
    try:
        expiry = datetime.date(2000 + int(date[:2]), int(date[2:4]), int(date[4:]))
    except ValueError:
        raise InvalidOptionSymbol(f"invalid expiry date {date!r} in {symbol!r}") from None
    if len(strike_text) == 8 and strike_text.isdigit():
        strike = Decimal(strike_text) / _THOUSAND
    else:
        strike = Decimal(strike_text)
    if strike <= 0:
        raise InvalidOptionSymbol(f"strike must be positive in {symbol!r}")
    try:
        return OptionContract(underlying=root, expiry=expiry, right=right, strike=strike)
    except InvalidOptionSymbol as exc:
        raise InvalidOptionSymbol(f"{exc} (in {symbol!r})") from None


def looks_like_option(symbol: str) -> bool:
    """True when ``symbol`` parses as an OCC option symbol (see :func:`parse_occ`)."""
    try:
        parse_occ(symbol)
    except InvalidOptionSymbol:
        return False
    return True
