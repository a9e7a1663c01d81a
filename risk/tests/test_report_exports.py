"""E1 report exports: the job, its status and download, retention, and the files'
contents against the API's own answers (the demo hedge-fund book, after the batch)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from batch import services as batch_services
from batch.models import BatchJob, JobSource
from portfolios.models import Portfolio
from risk.exports import services
from risk.exports.pdf import GAIN_COLOUR
from risk.models import PortfolioReport
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def report_root(settings: Any, tmp_path: Path) -> Path:
    """Report files go to a folder of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "reports")},
        },
    }
    return tmp_path / "reports"


def _client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(user).access_token}")
    return client


@pytest.fixture
def run_reports(
    eager_celery: None, django_capture_on_commit_callbacks: Any
) -> Callable[[APIClient, Any, str], dict[str, Any]]:
    """POST a report request, let its job run (eager), and return the job's status body."""

    def run(client: APIClient, portfolio_id: Any, fmt: str) -> dict[str, Any]:
        with django_capture_on_commit_callbacks(execute=True):
            started = client.post(
                f"/api/v1/export/reports/portfolio/{portfolio_id}", {"format": fmt}, format="json"
            )
        assert started.status_code == 202, started.content
        body = started.json()
        assert set(body) == {"job_id", "status", "status_url"}
        assert body["status_url"] == f"/api/v1/export/reports/{body['job_id']}"
        status = client.get(body["status_url"])
        assert status.status_code == 200, status.content
        return status.json()

    return run


def _download(client: APIClient, status: dict[str, Any]) -> Any:
    assert status["status"] == "completed", status
    assert status["download_url"].endswith(f"/api/v1/export/reports/{status['job_id']}/download")
    response = client.get(f"/api/v1/export/reports/{status['job_id']}/download")
    assert response.status_code == 200, response.content
    return response


# --------------------------------------------------------------------------- a small book


@pytest.fixture
def small_book(auth_client: APIClient) -> Portfolio:
    """The trader's default portfolio with cash only: no batch has run."""
    from portfolios import services as portfolio_services

    portfolio = Portfolio.objects.get(owner=auth_client.user)  # type: ignore[attr-defined]
    portfolio_services.cash_transaction(
        portfolio=portfolio, kind="DEPOSIT", amount=D(25000), trade_date=dt.date(2026, 11, 2)
    )
    return portfolio


def test_a_report_job_runs_and_serves_its_file(
    auth_client: APIClient, small_book: Portfolio, run_reports: Any, report_root: Path
) -> None:
    status = run_reports(auth_client, small_book.id, "json")
    assert status["progress"] == 100.0
    assert status["format"] == "json" and status["portfolio_id"] == str(small_book.id)
    assert status["expired"] is False and status["error_message"] is None
    expires = dt.datetime.fromisoformat(status["expires_at"])
    completed = dt.datetime.fromisoformat(status["completed_at"])
    assert expires - completed == pytest.approx(dt.timedelta(hours=72), abs=dt.timedelta(seconds=5))
    # Nothing has been computed for this book: the figures are null and the report says why.
    assert any("risk_metrics" in w for w in status["warnings"])
    response = _download(auth_client, status)
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    document = json.loads(response.content)
    assert document["overview"]["cash_balance"] == 25000.0
    assert (
        document["risk_metrics"]["risk_metrics"]["value_at_risk"]["1_day"]["confidence_95"] is None
    )
    assert status["size_bytes"] == len(response.content)
    assert len(list(report_root.rglob("*.json"))) == 1


def test_another_users_portfolio_and_report_are_404(
    auth_client: APIClient, small_book: Portfolio, run_reports: Any, make_user: Any
) -> None:
    status = run_reports(auth_client, small_book.id, "md")
    other = _client_for(make_user(role="trader"))
    for path in (
        f"/api/v1/export/reports/{status['job_id']}",
        f"/api/v1/export/reports/{status['job_id']}/download",
        "/api/v1/export/reports/job_20260101_000000_portfolio_report_abcd",
        "/api/v1/export/reports/not-a-job",
    ):
        response = other.get(path)
        assert response.status_code == 404, path
        assert_error_envelope(response.json())
    before = BatchJob.objects.count()
    response = other.post(
        f"/api/v1/export/reports/portfolio/{small_book.id}", {"format": "md"}, format="json"
    )
    assert response.status_code == 404
    assert BatchJob.objects.count() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"format": "docx"}, "format"),
        ({}, "format"),
        ({"format": "pdf", "as_of_date": "2020-01-02"}, "as_of_date"),
        ({"format": "pdf", "as_of_date": "not-a-date"}, "as_of_date"),
    ],
)
def test_bad_input_is_422_and_writes_nothing(
    auth_client: APIClient, small_book: Portfolio, body: dict[str, Any], field: str
) -> None:
    response = auth_client.post(
        f"/api/v1/export/reports/portfolio/{small_book.id}", body, format="json"
    )
    assert response.status_code == 422, response.content
    assert_error_envelope(response.json())
    assert field in json.dumps(response.json()["detail"])
    assert not BatchJob.objects.exists() and not PortfolioReport.objects.exists()


def test_a_report_not_built_yet_is_409_and_has_no_link(
    auth_client: APIClient, small_book: Portfolio
) -> None:
    # No on-commit callbacks run here: the job stays pending.
    started = auth_client.post(
        f"/api/v1/export/reports/portfolio/{small_book.id}", {"format": "csv"}, format="json"
    ).json()
    status = auth_client.get(started["status_url"]).json()
    assert status["status"] == "pending" and status["download_url"] is None
    response = auth_client.get(f"{started['status_url']}/download")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"


def test_an_expired_report_is_410_and_the_cleanup_deletes_its_file(
    auth_client: APIClient, small_book: Portfolio, run_reports: Any, report_root: Path
) -> None:
    old = run_reports(auth_client, small_book.id, "csv")
    fresh = run_reports(auth_client, small_book.id, "csv")
    assert len(list(report_root.rglob("*.csv"))) == 2
    PortfolioReport.objects.filter(job_id=old["job_id"]).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    response = auth_client.get(f"/api/v1/export/reports/{old['job_id']}/download")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "GONE"
    status = auth_client.get(f"/api/v1/export/reports/{old['job_id']}").json()
    assert status["expired"] is True and status["download_url"] is None

    assert services.reports_expired_delete() == 1
    assert services.reports_expired_delete() == 0  # idempotent
    left = list(report_root.rglob("*.csv"))
    assert len(left) == 1 and fresh["job_id"] in left[0].name
    assert PortfolioReport.objects.get(job_id=old["job_id"]).deleted_at is not None
    assert auth_client.get(f"/api/v1/export/reports/{fresh['job_id']}/download").status_code == 200


def test_the_cleanup_is_scheduled_hourly() -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="risk.tasks.cleanup_expired_reports")
    assert task.enabled and task.interval.every == 3600 and task.interval.period == "seconds"


def test_a_report_job_without_a_request_fails_with_a_reason(admin_user: Any) -> None:
    job = batch_services.job_create(job_name=services.REPORT_JOB, source=JobSource.API_TRIGGER)
    finished = batch_services.job_run(job.pk)
    assert finished.status == "failed"
    assert "POST /export/reports/portfolio/" in (finished.error_message or "")


# --------------------------------------------------------------------------- the demo book


@pytest.fixture
def hedge_fund(monkeypatch: pytest.MonkeyPatch) -> Iterator[Portfolio]:
    with open("/dev/null", "w") as sink:
        call_command("seed_demo", "--demo-users", stdout=sink)
        call_command("run_batch", "--no-progress", stdout=sink)
    yield Portfolio.objects.get(owner__email="demo_hedgefundstyle@sigmasight.com", is_default=True)


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _api_sections(client: APIClient, pid: Any) -> dict[str, Any]:
    """What the API answers now for each section of the report."""
    get = lambda path: client.get(path).json()  # noqa: E731
    positions = get(f"/api/v1/data/positions/details?portfolio_id={pid}&limit=200")
    return {
        "overview": get(f"/api/v1/analytics/portfolio/{pid}/overview"),
        "positions": {"data": positions["data"], "summary": positions["summary"]},
        "aggregations": get(
            f"/api/v1/data/portfolios/{pid}/aggregations?include_greeks=true&include_factors=true"
        ),
        "greeks": get(f"/api/v1/data/greeks/{pid}"),
        "factor_exposures": get(f"/api/v1/analytics/factor/{pid}/exposures"),
        "risk_metrics": get(f"/api/v1/analytics/risk/{pid}/metrics"),
        "stress_tests": get(f"/api/v1/analytics/risk/{pid}/scenarios"),
    }


def _pixels_near(image: Image.Image, colour: str, tolerance: int = 12) -> int:
    want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    return int((np.abs(pixels - want) <= tolerance).all(axis=-1).sum())


@pytest.mark.timeout(600)
def test_the_demo_hedge_fund_reports_hold_the_api_figures(
    hedge_fund: Portfolio, run_reports: Any, tmp_path: Path
) -> None:
    client = _client_for(hedge_fund.owner)
    pid = hedge_fund.id
    api = _api_sections(client, pid)
    assert api["risk_metrics"]["risk_metrics"]["value_at_risk"]["1_day"]["confidence_95"] < 0

    # JSON: each section is its endpoint's body.
    document = json.loads(_download(client, run_reports(client, pid, "json")).content)
    for key, body in api.items():
        got = document[key]
        if key == "positions":
            got = {"data": got["data"], "summary": got["summary"]}
        assert got == body, key
    strategies = document["option_strategies"]["strategies"]
    options = [r for r in api["positions"]["data"] if r["position_type"] in ("CALL", "PUT")]
    assert len(options) == 8 and sum(len(st["legs"]) for st in strategies) == 8
    for st in strategies:
        assert st["pnl_today"] is not None and len(st["pnl_today"]) == len(st["underlying_prices"])
    assert len(document["equity_curve"]["points"]) >= 20

    # CSV: one row per figure, the same values.
    rows = list(csv.reader(io.StringIO(_download(client, run_reports(client, pid, "csv")).text)))
    assert rows[0] == ["section", "field", "value"]
    cells = {(section, field): value for section, field, value in rows[1:]}
    for key, body in api.items():
        for path, value in _leaves(body):
            if value is None:
                want = ""
            elif isinstance(value, bool):
                want = str(value).lower()
            elif isinstance(value, float):
                want = repr(value)
            else:
                want = str(value)
            assert cells[(key, path)] == want, (key, path)

    # Markdown: the headline figures and every position's market value, unrounded.
    markdown = _download(client, run_reports(client, pid, "md")).text
    overview = api["overview"]
    assert f"| total_value | {overview['total_value']!r} |" in markdown
    var = api["risk_metrics"]["risk_metrics"]["value_at_risk"]["1_day"]
    assert (
        f"| value_at_risk | 1_day | {var['confidence_95']!r} | {var['confidence_99']!r} |"
        in markdown
    )
    for row in api["positions"]["data"]:
        assert f"| {row['symbol']} | {row['position_type']} |" in markdown
        assert f" {row['market_value']!r} |" in markdown

    # PDF: renders; the charts are in it, drawn.
    status = run_reports(client, pid, "pdf")
    response = _download(client, status)
    assert response["Content-Type"] == "application/pdf" and response.content[:5] == b"%PDF-"
    job = BatchJob.objects.get(pk=status["job_id"])
    charts = job.metadata["result"]["charts"]
    assert charts[:4] == ["Equity curve", "Exposure by sector", "Factor betas", "Stress impacts"]
    assert len([c for c in charts if c.startswith("Payoff: ")]) == len(strategies)
    if not (shutil.which("pdftoppm") and shutil.which("pdfimages")):
        pytest.skip("poppler-utils (pdftoppm, pdfimages) is not installed: `make test` installs it")
    pdf_path = tmp_path / "report.pdf"
    pdf_path.write_bytes(response.content)
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf_path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    # One picture per chart (each PNG also brings its alpha channel as an "smask").
    assert len([line for line in images if line.split()[2] == "image"]) == len(charts)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", str(pdf_path), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4
    drawn = [_pixels_near(Image.open(page), GAIN_COLOUR) for page in pages]
    assert drawn[0] == 0  # the summary page is tables only
    assert sum(1 for count in drawn if count > 200) >= 3, drawn


def test_operators_cannot_start_a_report_job_by_name(make_user: Any) -> None:
    admin = _client_for(make_user(role="admin"))
    response = admin.post("/api/v1/system/jobs", {"job_name": "portfolio_report"}, format="json")
    assert response.status_code == 422
    assert_error_envelope(response.json())
    assert not BatchJob.objects.exists()
