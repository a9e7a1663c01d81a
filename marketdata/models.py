"""Securities, daily bars, latest quotes, factor definitions and corporate actions.

Prices are ``Decimal`` (NUMERIC) per share, or per option share for options. Every
stored figure names its ``source`` ("simulated", "csv", "fmp", "polygon", or a real
dataset such as "skfolio.load_sp500_dataset").
"""

from __future__ import annotations

from django.db import models


class AssetType(models.TextChoices):
    STOCK = "stock", "Stock"
    ETF = "etf", "ETF"
    MUTUAL_FUND = "mutual_fund", "Mutual fund"
    INDEX = "index", "Index"
    OPTION = "option", "Option"


class AssetClass(models.TextChoices):
    """What an ETF, fund or index holds, shown in place of a sector (RISK-MODEL.md, Universe)."""

    BROAD_EQUITY = "broad_equity", "Broad Equity"
    SECTOR_EQUITY = "sector_equity", "Sector Equity"
    FIXED_INCOME = "fixed_income", "Fixed Income"
    COMMODITY = "commodity", "Commodity"
    VOLATILITY = "volatility", "Volatility"


class Security(models.Model):
    """Reference data for one symbol (options use the canonical OCC symbol)."""

    symbol = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200, blank=True)
    asset_type = models.CharField(max_length=16, choices=AssetType.choices)
    sector = models.CharField(max_length=64, blank=True, null=True)
    industry = models.CharField(max_length=128, blank=True, null=True)
    exchange = models.CharField(max_length=32, blank=True, null=True)
    currency = models.CharField(max_length=3, default="USD")
    isin = models.CharField(max_length=12, blank=True, null=True)
    asset_class = models.CharField(
        max_length=16,
        choices=AssetClass.choices,
        blank=True,
        null=True,
        help_text="ETFs, funds and indices; their sector shows it unless a sector fund.",
    )
    dividend_yield = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="A fraction: 0.0045 = 0.45%.",
    )
    shares_outstanding = models.DecimalField(max_digits=20, decimal_places=0, null=True, blank=True)
    eps_ttm = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, help_text="Trailing 12-month EPS."
    )
    duration = models.DecimalField(
        max_digits=8, decimal_places=3, null=True, blank=True, help_text="Modified duration, years."
    )
    # Where the price history is a stated proxy (no real history for this symbol).
    proxy_symbol = models.CharField(max_length=32, blank=True, null=True)
    proxy_beta = models.FloatField(null=True, blank=True)
    proxy_residual_vol = models.FloatField(null=True, blank=True, help_text="Annualized.")
    proxy_reason = models.TextField(blank=True)
    # Options only.
    underlying = models.ForeignKey(
        "self",
        to_field="symbol",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="options",
    )
    option_right = models.CharField(
        max_length=1, blank=True, null=True, choices=[("C", "Call"), ("P", "Put")]
    )
    strike = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    expiry = models.DateField(null=True, blank=True)
    multiplier = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    source = models.CharField(
        max_length=64, blank=True, help_text="Where the reference data came from."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        verbose_name_plural = "securities"
        indexes = [models.Index(fields=["asset_type"])]

    def __str__(self) -> str:
        return self.symbol


class PriceBar(models.Model):
    """One daily bar. ``close`` is the raw close; ``adj_close`` is split- and dividend-adjusted."""

    security = models.ForeignKey(
        Security,
        to_field="symbol",
        db_column="symbol",
        on_delete=models.CASCADE,
        related_name="bars",
    )
    date = models.DateField()
    open = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    high = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    low = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    close = models.DecimalField(max_digits=20, decimal_places=6)
    adj_close = models.DecimalField(max_digits=20, decimal_places=6)
    volume = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["security", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["security", "date"], name="pricebar_symbol_date_unique"
            ),
            models.CheckConstraint(condition=models.Q(close__gt=0), name="pricebar_close_positive"),
        ]
        indexes = [models.Index(fields=["date"])]

    def __str__(self) -> str:
        return f"{self.security_id} {self.date} {self.close}"


class MinuteBar(models.Model):
    """One minute of a session (the 0DTE tickers and the VIX; ``marketdata.producer``
    stores them as the market clock passes each minute). ``timestamp`` is the minute's
    start (aware UTC); prices in the daily bars' units."""

    security = models.ForeignKey(
        Security,
        to_field="symbol",
        db_column="symbol",
        on_delete=models.CASCADE,
        related_name="minute_bars",
    )
    session = models.DateField()
    timestamp = models.DateTimeField()
    open = models.DecimalField(max_digits=20, decimal_places=6)
    high = models.DecimalField(max_digits=20, decimal_places=6)
    low = models.DecimalField(max_digits=20, decimal_places=6)
    close = models.DecimalField(max_digits=20, decimal_places=6)
    volume = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=64)

    class Meta:
        ordering = ["security", "timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["security", "timestamp"], name="minutebar_symbol_minute_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(low__gt=0) & models.Q(low__lte=models.F("high")),
                name="minutebar_range_valid",
            ),
        ]
        indexes = [models.Index(fields=["session", "security", "timestamp"])]

    def __str__(self) -> str:
        return f"{self.security_id} {self.timestamp:%Y-%m-%d %H:%M} {self.close}"


class Quote(models.Model):
    """The latest quote per symbol (one row each, upserted)."""

    security = models.OneToOneField(
        Security,
        to_field="symbol",
        db_column="symbol",
        on_delete=models.CASCADE,
        related_name="quote",
    )
    bid = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    ask = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    bid_size = models.IntegerField(null=True, blank=True)
    ask_size = models.IntegerField(null=True, blank=True)
    last = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    volume = models.BigIntegerField(null=True, blank=True)
    implied_volatility = models.FloatField(null=True, blank=True, help_text="Options: a fraction.")
    timestamp = models.DateTimeField()
    source = models.CharField(max_length=64)

    class Meta:
        ordering = ["security"]

    def __str__(self) -> str:
        return f"{self.security_id} {self.bid}/{self.ask}"


class FactorDefinition(models.Model):
    """A style factor and the ETF whose returns define it (RISK-MODEL.md, Factor model)."""

    key = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    etf_symbol = models.CharField(max_length=32)
    description = models.TextField(blank=True)
    history_note = models.TextField(blank=True, help_text="Real history or the stated proxy.")
    is_active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "key"]

    def __str__(self) -> str:
        return f"{self.key} ({self.etf_symbol})"


class CorporateActionType(models.TextChoices):
    SPLIT = "SPLIT", "Split"
    DIVIDEND = "DIVIDEND", "Cash dividend"


class CorporateAction(models.Model):
    """A split (``ratio`` new shares per old share) or cash dividend (``amount`` per share)."""

    security = models.ForeignKey(
        Security,
        to_field="symbol",
        db_column="symbol",
        on_delete=models.CASCADE,
        related_name="corporate_actions",
    )
    action_type = models.CharField(max_length=16, choices=CorporateActionType.choices)
    ex_date = models.DateField()
    ratio = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    source = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["security", "ex_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["security", "action_type", "ex_date"], name="corporate_action_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.security_id} {self.action_type} {self.ex_date}"


class ListedExpiry(models.Model):
    """One listed expiry date of an option root: reference data, seeded from the rule in
    ``marketdata.expiries`` and editable in the admin. A root with stored rows lists exactly
    those dates; a root without any falls back to the rule (see
    ``marketdata.selectors.is_listed_expiry``)."""

    root = models.CharField(
        max_length=32, help_text="Normalized: upper case, no ^, . or - (VIX, BRKB, SPY)."
    )
    expiry = models.DateField()
    kind = models.CharField(
        max_length=16,
        choices=[
            ("monthly", "Standard monthly"),
            ("weekly", "Weekly"),
            ("daily", "Daily / Mon-Wed"),
            ("vix_monthly", "VIX monthly"),
            ("vix_weekly", "VIX weekly"),
        ],
    )
    source = models.CharField(max_length=64, default="rule", help_text="'rule' or who added it.")

    class Meta:
        ordering = ["root", "expiry"]
        verbose_name_plural = "listed expiries"
        constraints = [
            models.UniqueConstraint(fields=["root", "expiry"], name="listed_expiry_root_date"),
        ]

    def __str__(self) -> str:
        return f"{self.root} {self.expiry} ({self.kind})"


class ReplayAnchor(models.Model):
    """When the replay of a session at a speed started (``marketdata.clock``): one row per
    (session, speed), so that every process reads the same market minute and a restarted
    process resumes where the replay is."""

    session = models.DateField()
    speed = models.FloatField()
    started_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "speed"], name="uniq_replay_anchor"),
            models.CheckConstraint(condition=models.Q(speed__gt=0), name="replay_speed_positive"),
        ]

    def __str__(self) -> str:
        return (
            f"replay of {self.session} at {self.speed:g}x from {self.started_at:%Y-%m-%d %H:%M:%S}"
        )


class ChainSnapshot(models.Model):
    """A 0DTE option chain as quoted at one minute (``marketdata.chains``), stored by the
    market producer every ``CHAIN_SNAPSHOT_MINUTES`` so that IV, Greeks and open interest
    have an intraday history; pruned after ``CHAIN_SNAPSHOT_RETENTION_DAYS``."""

    symbol = models.CharField(max_length=8)
    session = models.DateField()
    timestamp = models.DateTimeField(help_text="The minute priced (its end), UTC.")
    expiration = models.DateField()
    underlying_price = models.DecimalField(max_digits=20, decimal_places=6)
    vix_level = models.FloatField()
    minutes_to_expiration = models.FloatField()
    calls = models.JSONField()
    puts = models.JSONField()
    source = models.CharField(max_length=64)

    class Meta:
        ordering = ["symbol", "timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "expiration", "timestamp"], name="chainsnapshot_unique"
            )
        ]
        indexes = [models.Index(fields=["session", "symbol", "timestamp"])]

    def __str__(self) -> str:
        return f"{self.symbol} {self.expiration} at {self.timestamp:%Y-%m-%d %H:%M}"
