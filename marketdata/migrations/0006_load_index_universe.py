"""Load the index universe (S&P 500, S&P 600, NASDAQ-100; seed_data/index_universe.json) into
Security, so that any of its names can be booked in the embedded default. Curated rows
(securities.json, seeded by ``market_data_seed``) win: existing symbols are left alone, and
the file leaves the curated names out. One bulk insert (~1,100 rows)."""

import json
from pathlib import Path

from django.db import migrations

SOURCE = "index_universe.json (pytickersymbols; proxied, simulated)"
PATH = Path(__file__).resolve().parents[1] / "seed_data" / "index_universe.json"


def _reason(proxy: dict) -> str:
    members = proxy["symbol"]
    if isinstance(members, dict):
        weights = ", ".join(f"{k} {float(w):.1%}" for k, w in members.items())
        return f"Basket: {weights}. {proxy['reason']}"
    return str(proxy["reason"])


def load(apps, schema_editor):
    Security = apps.get_model("marketdata", "Security")
    raw = json.loads(PATH.read_text(encoding="utf-8"))
    proxies = raw["proxies"]
    existing = set(Security.objects.values_list("symbol", flat=True))
    rows = []
    for symbol, info in raw["securities"].items():
        if symbol in existing:
            continue
        proxy = proxies[info["proxy"]]
        rows.append(
            Security(
                symbol=symbol,
                name=info["name"][:200],
                asset_type="stock",
                sector=info["sector"],
                industry=(info["industry"] or "")[:128] or None,
                exchange=info["exchange"],
                isin=info["isin"],
                proxy_symbol=info["proxy"],
                proxy_beta=proxy["beta"],
                proxy_residual_vol=proxy["residual_vol"],
                proxy_reason=_reason(proxy),
                source=SOURCE,
            )
        )
    Security.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


def unload(apps, schema_editor):
    apps.get_model("marketdata", "Security").objects.filter(source=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("marketdata", "0005_security_isin_asset_class")]

    operations = [migrations.RunPython(load, unload)]
