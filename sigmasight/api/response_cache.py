"""Cached bodies of the heavy reads, keyed by the versions of what they depend on.

A report such as ``/complete`` is a pure function of the user, the request (path, query,
negotiated format), the New York date (year-to-date figures, days to expiry) and stored
data whose changes bump version counters (``sigmasight.versions``): the portfolio's own
writes, quotes and bars, the batch's results. The cache key holds all of them, so a
write, a new quote or a finished job makes the next read compute afresh, with no
invalidation to forget; ``RESPONSE_CACHE_SECONDS`` bounds what no counter tracks (the
age of a quote named in a warning). Only 200s are kept, and only for the user who got
them: a hit never skips a permission check that a miss would have made, since the key
holds the user and the counters of the portfolio the user read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sigmasight.versions import Counter, current

#: The market's time zone: the date the reports' year-to-date and expiry figures use.
NEW_YORK = ZoneInfo("America/New_York")
_PREFIX = "resp"


def cached_response(
    view: APIView,
    request: Request,
    *,
    counters: Sequence[Counter],
    build: Callable[[], Response],
) -> HttpResponse:
    """``build()``'s rendered response, from the cache when nothing it depends on changed."""
    seconds = int(settings.RESPONSE_CACHE_SECONDS)
    if seconds <= 0:
        return build()
    today = timezone.now().astimezone(NEW_YORK).date()  # the clock the reports read
    parts = (
        type(view).__qualname__,
        str(request.user.pk),
        request.get_full_path(),
        str(request.accepted_media_type),
        today.isoformat(),
        ",".join(map(str, current(counters))),
    )
    key = f"{_PREFIX}:" + hashlib.sha256("|".join(parts).encode()).hexdigest()
    hit = cache.get(key)
    if hit is not None:
        content, headers = hit
        response = HttpResponse(content, status=200)
        for name, value in headers:
            response[name] = value
        return response
    response = view.finalize_response(request, build())
    response.render()
    if response.status_code == 200:
        cache.set(key, (response.content, list(response.items())), timeout=seconds)
    return response
