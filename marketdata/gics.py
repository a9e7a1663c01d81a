"""The eleven GICS sectors, and the stated table that maps free-text industries onto them.

Why a table: ``pytickersymbols`` (the source of the S&P 500, S&P 600 and NASDAQ-100
reference data, RISK-MODEL.md "Factor model → Universe") lists each company's industries as
free text scraped from several sources, e.g. ``['Conglomerate', 'Industrial Conglomerates',
'Industrials']``. Almost every entry (1,107 of 1,120 in version 1.17.10) names a GICS sector
among them; the rules below settle the rest. Pure data and string matching: no Django.

The rules, in order (``gics_sector``):

1. **A sector named outright.** An industry equal (case-insensitively) to a GICS sector or
   one of its spellings in ``SECTOR_SPELLINGS`` ("Healthcare", "Real estate", ...).
2. **Several sectors named**: the first of ``SECTOR_PRECEDENCE``. The conflicts seen, and
   why the order settles them as GICS does:
   - Energy + Utilities (AES, ATO, CMS, ED, CEG, DUK, CPK): utilities *sell* energy; GICS
     puts electric and gas utilities in Utilities.
   - Financials + Real Estate (EQIX, EQR, FRT, DOC, PSA): REITs were in Financials until
     GICS gave Real Estate its own sector in 2016; older descriptions keep both.
   - Consumer Discretionary + Industrials (GRMN): consumer electronics, Consumer
     Discretionary in GICS.
   - Energy + Industrials (GEV): heavy electrical equipment, Industrials.
   - Financials + Industrials (MCO, MSCI): financial exchanges and data, Financials.
   - Health Care + Utilities (STE): STERIS makes sterilization equipment; its "Electric
     Utilities" tag is a scraping error, and Health Care comes first.
3. **No sector named**: the first keyword of ``KEYWORD_SECTORS`` found in any industry
   (semiconductors and software → Information Technology, biotechnology and pharmaceuticals
   → Health Care, beverages → Consumer Staples, e-commerce → Consumer Discretionary, ...).
4. ``SYMBOL_SECTORS`` overrides the rules for a name whose text misleads them (stated with
   the reason).
5. Otherwise ``None``: the name stays unclassified and says so; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterable

COMMUNICATION_SERVICES = "Communication Services"
CONSUMER_DISCRETIONARY = "Consumer Discretionary"
CONSUMER_STAPLES = "Consumer Staples"
ENERGY = "Energy"
FINANCIALS = "Financials"
HEALTH_CARE = "Health Care"
INDUSTRIALS = "Industrials"
INFORMATION_TECHNOLOGY = "Information Technology"
MATERIALS = "Materials"
REAL_ESTATE = "Real Estate"
UTILITIES = "Utilities"

GICS_SECTORS: tuple[str, ...] = (
    COMMUNICATION_SERVICES,
    CONSUMER_DISCRETIONARY,
    CONSUMER_STAPLES,
    ENERGY,
    FINANCIALS,
    HEALTH_CARE,
    INDUSTRIALS,
    INFORMATION_TECHNOLOGY,
    MATERIALS,
    REAL_ESTATE,
    UTILITIES,
)

#: Other spellings of a sector name found in the data (lower case).
SECTOR_SPELLINGS: dict[str, str] = {
    **{sector.lower(): sector for sector in GICS_SECTORS},
    "healthcare": HEALTH_CARE,
    "health care": HEALTH_CARE,
    "information technology": INFORMATION_TECHNOLOGY,
    "real estate": REAL_ESTATE,
    "communication services": COMMUNICATION_SERVICES,
    "communications services": COMMUNICATION_SERVICES,
    "basic materials": MATERIALS,
}

#: Which sector wins when an entry names several (see the module docstring, rule 2).
SECTOR_PRECEDENCE: tuple[str, ...] = (
    REAL_ESTATE,
    HEALTH_CARE,
    UTILITIES,
    FINANCIALS,
    CONSUMER_DISCRETIONARY,
    INDUSTRIALS,
    ENERGY,
    INFORMATION_TECHNOLOGY,
    COMMUNICATION_SERVICES,
    CONSUMER_STAPLES,
    MATERIALS,
)

#: Rule 3: (keyword, sector), the first keyword found in an industry (lower case) wins.
KEYWORD_SECTORS: tuple[tuple[str, str], ...] = (
    ("reit", REAL_ESTATE),
    ("real estate", REAL_ESTATE),
    ("semiconductor", INFORMATION_TECHNOLOGY),
    ("software", INFORMATION_TECHNOLOGY),
    ("security", INFORMATION_TECHNOLOGY),  # network/internet/computer security
    ("biotechnology", HEALTH_CARE),
    ("pharmaceutical", HEALTH_CARE),
    ("medical", HEALTH_CARE),
    ("beverage", CONSUMER_STAPLES),
    ("soft drinks", CONSUMER_STAPLES),
    ("food", CONSUMER_STAPLES),
    ("e-commerce", CONSUMER_DISCRETIONARY),
    ("retail", CONSUMER_DISCRETIONARY),
    ("bank", FINANCIALS),
    ("insurance", FINANCIALS),
    ("utilit", UTILITIES),
    ("oil", ENERGY),
    ("chemical", MATERIALS),
    ("media", COMMUNICATION_SERVICES),
    ("telecommunication", COMMUNICATION_SERVICES),
    ("internet", COMMUNICATION_SERVICES),
    ("edp services", INFORMATION_TECHNOLOGY),  # electronic data processing
)


#: Rule 4: names whose free text misleads the rules, with their GICS sector.
SYMBOL_SECTORS: dict[str, tuple[str, str]] = {
    "PDD": (
        CONSUMER_DISCRETIONARY,
        "PDD Holdings (Temu, Pinduoduo) is Broadline Retail in GICS; its listed industries "
        "('EDP Services', 'Internet') describe the platform, not the business.",
    ),
}


def gics_sector(industries: Iterable[str], symbol: str = "") -> str | None:
    """The GICS sector of a company described by free-text ``industries`` (rules in the
    module docstring), or None when no rule applies."""
    if symbol in SYMBOL_SECTORS:
        return SYMBOL_SECTORS[symbol][0]
    texts = [str(text).strip() for text in industries if str(text).strip()]
    named = {SECTOR_SPELLINGS[t.lower()] for t in texts if t.lower() in SECTOR_SPELLINGS}
    if named:
        return next(sector for sector in SECTOR_PRECEDENCE if sector in named)
    lowered = [t.lower() for t in texts]
    for keyword, sector in KEYWORD_SECTORS:
        if any(keyword in text for text in lowered):
            return sector
    return None


def industry_label(industries: Iterable[str]) -> str | None:
    """The most specific industry text: the first that is not a sector name (None if all are)."""
    for text in industries:
        t = str(text).strip()
        if t and t.lower() not in SECTOR_SPELLINGS:
            return t
    return None
