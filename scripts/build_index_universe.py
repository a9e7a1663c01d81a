"""Build marketdata/seed_data/index_universe.json from pytickersymbols and the real history.

Run from the repository root: ``.venv/bin/python scripts/build_index_universe.py``. The
content is defined by ``marketdata.providers.simulated.index_universe`` (proxies and their
fits) and ``marketdata.universe.index_constituents`` (names, GICS sectors, ISINs); a test
rebuilds it and compares with the committed file.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from marketdata.providers.simulated.index_universe import (  # noqa: E402
    DEFAULT_INDEX_UNIVERSE_PATH,
    build_index_universe,
    dumps,
)
from marketdata.providers.simulated.reference import (  # noqa: E402
    DEFAULT_HISTORY_PATH,
    DEFAULT_REFERENCE_PATH,
)
from marketdata.universe import index_constituents  # noqa: E402


def build() -> str:
    reference = json.loads(DEFAULT_REFERENCE_PATH.read_text(encoding="utf-8"))
    content = build_index_universe(
        index_constituents(),
        reference,
        DEFAULT_HISTORY_PATH,
        package_version=metadata.version("pytickersymbols"),
    )
    return dumps(content)


if __name__ == "__main__":
    text = build()
    DEFAULT_INDEX_UNIVERSE_PATH.write_text(text, encoding="utf-8")
    count = len(json.loads(text)["securities"])
    print(f"wrote {DEFAULT_INDEX_UNIVERSE_PATH.relative_to(ROOT)}: {count} securities")
