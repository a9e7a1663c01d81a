"""The PDF form of the portfolio report: the document of ``risk.exports.report`` laid out
with reportlab, with charts drawn by matplotlib (Agg, no display, one ``Figure`` per chart:
no pyplot state shared between threads).

Charts: the equity curve, exposure by sector, factor betas, stress impacts, and the
payoff of each option strategy at expiry and today. A chart whose data is missing is
replaced by a line that says why (the section's warnings), never by an empty plot.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

CHART_WIDTH_CM = 17.0
CHART_HEIGHT_CM = 7.5
LOSS_COLOUR = "#c0392b"
GAIN_COLOUR = "#1f77b4"


@dataclass
class PdfReport:
    """The rendered file, and the titles of the charts it holds (in order)."""

    content: bytes
    charts: list[str] = field(default_factory=list)


def _png(draw: Callable[[Any], None]) -> io.BytesIO:
    # Imported here, not at the top: matplotlib costs 0.7 s of start-up, which every
    # process (each manage.py command, each worker) would pay for the few that draw.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(CHART_WIDTH_CM / 2.54, CHART_HEIGHT_CM / 2.54), dpi=150)
    axes = figure.add_subplot()
    draw(axes)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    return buffer


def _chart(draw: Callable[[Any], None]) -> Image:
    return Image(_png(draw), width=CHART_WIDTH_CM * cm, height=CHART_HEIGHT_CM * cm)


def _money(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):,.2f}"


def _num(value: Any, places: int = 4) -> str:
    return "n/a" if value is None else f"{float(value):,.{places}f}"


def _barh(axes: Any, labels: list[str], values: list[float], xlabel: str) -> None:
    colours = [LOSS_COLOUR if v < 0 else GAIN_COLOUR for v in values]
    axes.barh(labels, values, color=colours)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel(xlabel)
    axes.invert_yaxis()


class _Builder:
    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.styles = getSampleStyleSheet()
        self.small = ParagraphStyle("small", parent=self.styles["BodyText"], fontSize=8, leading=10)
        self.story: list[Flowable] = []
        self.charts: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.story.append(Paragraph(escape(text), self.styles[f"Heading{level}"]))

    def text(self, text: str, style: str = "BodyText") -> None:
        self.story.append(
            Paragraph(escape(text), self.small if style == "small" else self.styles[style])
        )

    def table(self, rows: list[list[str]], widths: list[float] | None = None) -> None:
        if len(rows) <= 1:
            self.text("None.", "small")
            return
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ]
            )
        )
        self.story += [table, Spacer(1, 0.3 * cm)]

    def chart(self, title: str, draw: Callable[[Any], None] | None, missing: str) -> None:
        heading = Paragraph(escape(title), self.styles["Heading3"])
        if draw is None:
            self.story += [heading, Paragraph(escape(f"No chart: {missing}"), self.small)]
            return
        self.story.append(KeepTogether([heading, _chart(draw)]))  # no heading left alone
        self.charts.append(title)

    # -- sections

    def summary(self) -> None:
        head, overview = self.doc["report"], self.doc["overview"]
        self.heading(f"{head['portfolio_name']}: portfolio report", 1)
        self.text(
            f"Generated {head['generated_at']} (job {head['job_id']}). Money in {head['currency']}.",
            "small",
        )
        exposures, pnl = overview["exposures"], overview["pnl"]
        self.table(
            [
                ["Figure", "Value"],
                ["Total value", _money(overview["total_value"])],
                ["Cash", _money(overview["cash_balance"])],
                ["Long exposure", _money(exposures["long_exposure"])],
                ["Short exposure", _money(exposures["short_exposure"])],
                ["Gross exposure", _money(exposures["gross_exposure"])],
                ["Net exposure", _money(exposures["net_exposure"])],
                ["Total P&L", _money(pnl["total_pnl"])],
                ["Day change", _money(pnl["day_change"])],
                ["YTD P&L", _money(pnl["ytd_pnl"])],
            ],
            [6 * cm, 5 * cm],
        )
        metrics = self.doc["risk_metrics"]["risk_metrics"]
        var, es = metrics["value_at_risk"], metrics["expected_shortfall"]
        self.heading("VaR and expected shortfall (dollars, losses negative)", 3)
        self.table(
            [["Horizon", "VaR 95%", "VaR 99%", "ES 95%", "ES 99%"]]
            + [
                [
                    h.replace("_", " "),
                    _money(var[h]["confidence_95"]),
                    _money(var[h]["confidence_99"]),
                    _money(es[h]["confidence_95"]),
                    _money(es[h]["confidence_99"]),
                ]
                for h in var
            ]
        )
        self.heading("Performance", 3)
        self.table(
            [["Measure", "Value"]]
            + [
                [key.replace("_", " "), _num(metrics.get(key))]
                for key in (
                    "portfolio_beta",
                    "sharpe_ratio",
                    "sortino_ratio",
                    "max_drawdown",
                    "volatility_30d",
                    "volatility_90d",
                    "tracking_error",
                )
            ],
            [6 * cm, 5 * cm],
        )
        greeks = self.doc["greeks"]["portfolio_greeks"] or {}
        self.heading("Portfolio Greeks (sum of Greek x quantity x multiplier)", 3)
        self.table(
            [["Greek", "Value"]] + [[k, _num(v)] for k, v in greeks.items()], [6 * cm, 5 * cm]
        )

    def equity_curve(self) -> None:
        points = [p for p in self.doc["equity_curve"]["points"] if p["total_value"] is not None]

        def draw(axes: Any) -> None:
            days = [dt.date.fromisoformat(p["date"]) for p in points]
            axes.plot(days, [p["total_value"] for p in points], color=GAIN_COLOUR, linewidth=1.6)
            axes.set_ylabel("Total value ($)")
            axes.tick_params(axis="x", labelrotation=30)

        self.chart(
            "Equity curve",
            draw if len(points) >= 2 else None,
            "fewer than two daily snapshots are stored",
        )

    def sectors(self) -> None:
        groups = self.doc["aggregations"]["position_breakdown"].get("by_sector") or {}
        known = {k: v["value"] for k, v in groups.items() if v.get("value") is not None}

        def draw(axes: Any) -> None:
            _barh(axes, list(known), list(known.values()), "Net market value ($)")

        self.chart("Exposure by sector", draw if known else None, "no priced positions")

    def factors(self) -> None:
        rows = [f for f in self.doc["factor_exposures"]["factors"] if f.get("exposure") is not None]

        def draw(axes: Any) -> None:
            _barh(axes, [f["name"] for f in rows], [f["exposure"] for f in rows], "Beta")

        self.chart(
            "Factor betas",
            draw if rows else None,
            "the factor_analysis batch has not run for this portfolio yet",
        )

    def stress(self) -> None:
        rows = self.doc["stress_tests"]["scenarios"]

        def draw(axes: Any) -> None:
            _barh(
                axes,
                [r["name"] for r in rows],
                [r["correlated_impact"] for r in rows],
                "P&L of the scenario ($)",
            )
            axes.tick_params(axis="y", labelsize=6)

        self.chart(
            "Stress impacts",
            draw if rows else None,
            "the stress_testing batch has not run for this portfolio yet",
        )

    def strategies(self) -> None:
        strategies = self.doc["option_strategies"]["strategies"]
        if not strategies:
            self.heading("Option strategies", 3)
            self.text("No open option positions.", "small")
            return
        for st in strategies:

            def draw(axes: Any, st: dict[str, Any] = st) -> None:
                x = st["underlying_prices"]
                axes.plot(
                    x, st["pnl_at_expiry"], color=GAIN_COLOUR, linewidth=1.6, label="At expiry"
                )
                if st["pnl_today"] is not None:
                    axes.plot(
                        x,
                        st["pnl_today"],
                        color="#ff7f0e",
                        linewidth=1.4,
                        linestyle="--",
                        label="Today",
                    )
                axes.axhline(0, color="black", linewidth=0.8)
                if st["underlying_price"] is not None:
                    axes.axvline(st["underlying_price"], color="grey", linewidth=0.8, linestyle=":")
                axes.set_xlabel(f"{st['underlying_symbol']} price ($)")
                axes.set_ylabel("P&L ($)")
                axes.legend(loc="best", fontsize=7)

            self.chart(f"Payoff: {st['name']}", draw, "")
            for warning in st["warnings"]:
                self.text(warning, "small")

    def positions(self) -> None:
        self.heading("Positions")
        rows = self.doc["positions"]["data"]
        self.table(
            [["Symbol", "Type", "Quantity", "Price", "Market value", "Unrealized P&L"]]
            + [
                [
                    r["symbol"],
                    r["position_type"],
                    _num(r["quantity"], 2),
                    _num(r["current_price"]),
                    _money(r["market_value"]),
                    _money(r["unrealized_pnl"]),
                ]
                for r in rows
            ]
        )

    def warnings(self) -> None:
        warnings = self.doc.get("warnings") or []
        if warnings:
            self.heading("Warnings")
            for warning in warnings:
                self.text(f"- {warning}", "small")


def render_pdf(document: dict[str, Any]) -> PdfReport:
    """The report as a PDF (A4), and the titles of the charts drawn."""
    builder = _Builder(document)
    builder.summary()
    builder.story.append(PageBreak())
    builder.heading("Charts")
    builder.equity_curve()
    builder.sectors()
    builder.factors()
    builder.stress()
    builder.strategies()
    builder.story.append(PageBreak())
    builder.positions()
    builder.warnings()
    out = io.BytesIO()
    head = document["report"]
    SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{head['portfolio_name']}: portfolio report",
        author="SigmaSight",
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    ).build(builder.story)
    return PdfReport(out.getvalue(), builder.charts)
