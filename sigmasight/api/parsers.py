"""The one JSON body parser of the API.

DRF's parser turns a ``ValueError`` into a ``ParseError`` (422 in the envelope) but
lets ``RecursionError`` through: a body of 50,000 nested brackets exceeds Python's
recursion limit in the JSON decoder and became a 500. Here it is a malformed body too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON nested too deeply") from None
