"""Admin batch endpoints (spec 3.1–3.5) and system endpoints (S1–S3) against the spec."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone
from rest_framework.test import APIClient

from batch.models import BatchJob
from batch.tests.conftest import client_for, make_job
from tests.contract import SIGMASIGHT, assert_error_envelope, assert_matches_example, spec_example

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/admin/batch/jobs/status"
SUMMARY = "/api/v1/admin/batch/jobs/summary"
QUALITY = "/api/v1/admin/batch/data-quality"
REFRESH = "/api/v1/admin/batch/data-quality/refresh"
SYSTEM_JOBS = "/api/v1/system/jobs"
SYSTEM_STATUS = "/api/v1/system/status"


def cancel_url(job_id: str) -> str:
    return f"/api/v1/admin/batch/jobs/{job_id}/cancel"


ENDPOINTS = [
    ("get", STATUS),
    ("get", SUMMARY),
    ("delete", cancel_url("job_20260101_000000_market_data_update_abcd")),
    ("get", QUALITY),
    ("post", REFRESH),
    ("get", SYSTEM_JOBS),
    ("get", f"{SYSTEM_JOBS}/job_20260101_000000_market_data_update_abcd"),
    ("delete", f"{SYSTEM_JOBS}/job_20260101_000000_market_data_update_abcd"),
    ("get", SYSTEM_STATUS),
]


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_trader_gets_403_insufficient_permissions(
    auth_client: APIClient, method: str, path: str
) -> None:
    response = getattr(auth_client, method)(path)
    assert response.status_code == 403
    assert_error_envelope(response.json(), code="INSUFFICIENT_PERMISSIONS")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_gets_401(api_client: APIClient, method: str, path: str) -> None:
    response = getattr(api_client, method)(path)
    assert response.status_code == 401
    assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")


def test_a_viewer_gets_403(make_user: Any) -> None:
    response = client_for(make_user(role="viewer")).get(STATUS)
    assert response.status_code == 403


def test_trailing_slash_answers_too(admin_client: APIClient) -> None:
    assert admin_client.get(STATUS + "/").status_code == 200


# --------------------------------------------------------------------------- 3.1


def test_job_status_matches_the_spec_example(admin_client: APIClient, admin_user: Any) -> None:
    portfolio = admin_user.portfolios.get()
    make_job(processed_items=21, successful_items=21, portfolio=portfolio)
    make_job(job_name="full_portfolio_calculation", status="running", processed_items=45)
    make_job(job_name="data_quality_assessment", status="failed", error="API rate limit exceeded")
    response = admin_client.get(STATUS)
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "3.1 Get Batch Job Status"))
    assert body["summary"] == {
        "total_jobs": 3,
        "pending": 0,
        "running": 1,
        "completed": 1,
        "failed": 1,
        "cancelled": 0,
    }
    assert body["filters_applied"] == {
        "days_back": 1,
        "job_name": None,
        "status": None,
        "portfolio_id": None,
    }
    newest = body["jobs"][0]
    assert newest["metadata"]["source"] == "scheduled_job"
    assert {j["portfolio_id"] for j in body["jobs"]} == {str(portfolio.pk), None}


def test_job_status_filters_and_days_back(admin_client: APIClient, admin_user: Any) -> None:
    old = timezone.now() - dt.timedelta(days=3)
    make_job(created_at=old)
    make_job(job_name="greeks_calculation", status="failed", error="boom")
    make_job()
    assert admin_client.get(STATUS).json()["summary"]["total_jobs"] == 2
    assert admin_client.get(STATUS, {"days_back": 5}).json()["summary"]["total_jobs"] == 3
    body = admin_client.get(STATUS, {"status": "failed"}).json()
    assert [j["job_name"] for j in body["jobs"]] == ["greeks_calculation"]
    assert body["summary"]["completed"] == 0 and body["summary"]["failed"] == 1
    body = admin_client.get(STATUS, {"job_name": "market_data_update", "days_back": 7}).json()
    assert body["summary"]["total_jobs"] == 2
    assert body["filters_applied"]["job_name"] == "market_data_update"
    portfolio = admin_user.portfolios.get()
    body = admin_client.get(STATUS, {"portfolio_id": str(portfolio.pk)}).json()
    assert body["jobs"] == [] and body["summary"]["total_jobs"] == 0


def test_job_status_limit_keeps_the_summary_whole(admin_client: APIClient) -> None:
    for _ in range(3):
        make_job()
    body = admin_client.get(STATUS, {"limit": 2}).json()
    assert len(body["jobs"]) == 2 and body["summary"]["total_jobs"] == 3
    assert body["warnings"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days_back": 0}, "days_back"),
        ({"days_back": "x"}, "days_back"),
        ({"status": "exploded"}, "status"),
        ({"job_name": "rm_rf"}, "job_name"),
        ({"portfolio_id": "not-a-uuid"}, "portfolio_id"),
        ({"limit": 100000}, "limit"),
    ],
)
def test_job_status_bad_query_is_422(admin_client: APIClient, params: dict, field: str) -> None:
    response = admin_client.get(STATUS, params)
    assert response.status_code == 422
    body = response.json()
    assert_error_envelope(body, status=422, code="VALIDATION_ERROR")
    assert body["detail"][0]["loc"] == ["query", field]


# --------------------------------------------------------------------------- 3.2


def test_job_summary_matches_the_spec_example(admin_client: APIClient) -> None:
    now = timezone.now()
    make_job(duration=80.0)
    make_job(duration=90.0, created_at=now - dt.timedelta(days=2))
    make_job(status="failed", error="API rate limit exceeded for fmp (429)")
    make_job(job_name="full_portfolio_calculation", duration=240.0)
    make_job(job_name="data_quality_assessment", status="running")
    make_job(job_name="greeks_calculation", status="pending")
    make_job(duration=200.0, created_at=now - dt.timedelta(days=10))  # the previous week
    response = admin_client.get(SUMMARY)
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(
        body, spec_example(SIGMASIGHT, "3.2 Get Batch Job Summary"), maps=("$.by_job_type",)
    )
    stats = body["job_statistics"]
    assert (stats["total_jobs"], stats["completed_jobs"], stats["failed_jobs"]) == (6, 3, 1)
    assert (stats["running_jobs"], stats["pending_jobs"], stats["cancelled_jobs"]) == (1, 1, 0)
    assert stats["success_rate"] == 50.0
    assert stats["avg_duration_seconds"] == pytest.approx((80 + 90 + 240) / 3, abs=0.01)
    market = body["by_job_type"]["market_data_update"]
    assert (market["total"], market["completed"], market["failed"]) == (3, 2, 1)
    assert market["success_rate"] == pytest.approx(66.67)
    assert market["avg_duration"] == 85.0
    assert body["by_job_type"]["stress_testing"]["total"] == 0  # every job type is listed
    daily = body["performance_trends"]["daily_job_counts"]
    assert len(daily) == 8 and sum(d["total"] for d in daily) == 6
    assert daily[0]["date"] == body["period"]["end_date"]
    trend = body["performance_trends"]["avg_duration_trend"]
    assert trend["previous_week"] == 200.0
    assert trend["improvement_percent"] == pytest.approx(100 * (200 - 410 / 3) / 200, abs=0.1)
    errors = body["error_analysis"]
    assert errors["top_error_types"] == [
        {"error_pattern": "API rate limit exceeded for fmp (N)", "count": 1, "percentage": 100.0}
    ]
    assert errors["most_failed_job_type"] == "market_data_update"
    assert any("rate limit" in r for r in body["recommendations"])
    assert body["period"]["days_covered"] == 7


def test_job_summary_without_jobs_has_null_rates(admin_client: APIClient) -> None:
    body = admin_client.get(SUMMARY, {"days_back": 1}).json()
    assert body["job_statistics"]["total_jobs"] == 0
    assert body["job_statistics"]["success_rate"] is None
    assert body["warnings"]
    assert body["recommendations"]


def test_job_summary_bad_days_back_is_422(admin_client: APIClient) -> None:
    response = admin_client.get(SUMMARY, {"days_back": -1})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "days_back"]


# --------------------------------------------------------------------------- 3.3


def test_cancel_a_pending_job_matches_the_spec_example(admin_client: APIClient) -> None:
    job = make_job(status="pending")
    response = admin_client.delete(cancel_url(job.pk))
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "3.3 Cancel Batch Job"))
    details = body["job_details"]
    assert details["previous_status"] == "pending" and details["new_status"] == "cancelled"
    assert body["message"] == "Batch job cancelled successfully"
    job.refresh_from_db()
    assert job.status == "cancelled" and job.cancel_requested_at is not None


def test_cancel_a_running_job_reports_cancelling(admin_client: APIClient) -> None:
    job = make_job(status="running", total_items=50, processed_items=20, successful_items=19)
    body = admin_client.delete(cancel_url(job.pk)).json()
    assert body["job_details"]["new_status"] == "cancelling"
    assert body["job_details"]["processed_items"] == 20
    assert body["impact_assessment"]["incomplete_calculations"] == 30
    job.refresh_from_db()
    assert job.status == "running" and job.cancel_requested_at is not None


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_cancel_a_finished_job_is_409(admin_client: APIClient, status: str) -> None:
    job = make_job(status=status)
    response = admin_client.delete(cancel_url(job.pk))
    assert response.status_code == 409
    assert_error_envelope(response.json(), code="CONFLICT")
    response = admin_client.delete(f"{SYSTEM_JOBS}/{job.pk}")
    assert response.status_code == 409


def test_cancel_an_unknown_job_is_404(admin_client: APIClient) -> None:
    response = admin_client.delete(cancel_url("job_20990101_000000_nope_0000"))
    assert response.status_code == 404
    assert_error_envelope(response.json(), code="NOT_FOUND")
    assert response.json()["detail"] == "Batch job not found"


@pytest.mark.parametrize("job_id", ["%00abc", "x" * 500, "job%20with%20spaces", "%E2%98%83"])
def test_a_malformed_job_id_is_404_not_500(admin_client: APIClient, job_id: str) -> None:
    for response in (
        admin_client.get(f"{SYSTEM_JOBS}/{job_id}"),
        admin_client.delete(f"{SYSTEM_JOBS}/{job_id}"),
        admin_client.delete(cancel_url(job_id)),
    ):
        assert response.status_code == 404, response.content
        assert_error_envelope(response.json(), code="NOT_FOUND")


def test_cancel_is_delete_only(admin_client: APIClient) -> None:
    job = make_job(status="pending")
    response = admin_client.post(cancel_url(job.pk))
    assert response.status_code == 405
    assert_error_envelope(response.json())


# --------------------------------------------------------------------------- 3.4


def test_data_quality_matches_the_spec_example(admin_client: APIClient, priced_book: Any) -> None:
    make_job(
        job_name="data_quality_assessment",
        metadata={"quality_score": 71.5},
        created_at=timezone.now() - dt.timedelta(hours=1),
    )
    response = admin_client.get(QUALITY)
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(
        body,
        spec_example(SIGMASIGHT, "3.4 Get Data Quality Status"),
        maps=("$.data_source_status.market_data_providers",),
    )
    row = next(r for r in body["portfolio_quality"] if r["portfolio_id"] == str(priced_book.pk))
    completeness = row["data_completeness"]
    assert row["position_count"] == 3
    assert completeness["price_coverage"] == pytest.approx(66.7)
    assert completeness["historical_data_coverage"] == pytest.approx(33.3)
    assert row["data_freshness"]["freshness_score"] == pytest.approx(66.7)
    assert any("ZZZT" in issue for issue in row["issues"])
    assert row["quality_score"] is not None
    providers = body["data_source_status"]["market_data_providers"]
    assert "simulated" in providers
    database = body["data_source_status"]["database_health"]
    assert database["status"] == "healthy" and database["avg_query_time_ms"] > 0
    assert body["quality_trends"]["score_history_7d"][0]["score"] == 71.5
    assert body["system_overview"]["total_positions"] >= 3
    assert isinstance(body["warnings"], list)


def test_data_quality_for_one_portfolio(admin_client: APIClient, priced_book: Any) -> None:
    body = admin_client.get(QUALITY, {"portfolio_id": str(priced_book.pk)}).json()
    assert [r["portfolio_id"] for r in body["portfolio_quality"]] == [str(priced_book.pk)]
    assert body["system_overview"]["active_portfolios"] == 1


def test_data_quality_for_an_unknown_portfolio_is_404(admin_client: APIClient) -> None:
    response = admin_client.get(QUALITY, {"portfolio_id": "00000000-0000-0000-0000-000000000000"})
    assert response.status_code == 404
    assert_error_envelope(response.json(), code="NOT_FOUND")


def test_data_quality_bad_portfolio_id_is_422(admin_client: APIClient) -> None:
    response = admin_client.get(QUALITY, {"portfolio_id": "abc"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "portfolio_id"]


# --------------------------------------------------------------------------- 3.5


def test_refresh_starts_a_real_job_and_matches_the_spec_example(
    admin_client: APIClient,
    priced_book: Any,
    fake_chain: Any,
    eager_celery: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(REFRESH)
    assert response.status_code == 202
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "3.5 Refresh Market Data for Quality"))
    job_id = body["job_details"]["job_id"]
    job = BatchJob.objects.get(pk=job_id)
    assert job.job_name == "data_quality_refresh" and job.metadata["source"] == "api_trigger"
    assert job.requested_by_id == admin_client.user.pk  # type: ignore[attr-defined]
    assert job.status == "completed"  # ran inline (eager) once the request committed
    assert body["monitoring"]["progress_endpoint"] == f"/api/v1/system/jobs/{job_id}"
    assert body["scope"]["positions_to_refresh"] >= 3
    assert body["scope"]["portfolios_targeted"] >= 1
    assert body["pre_refresh_quality"]["critical_issues"]
    assert admin_client.get(f"{SYSTEM_JOBS}/{job_id}").json()["status"] == "completed"


def test_refresh_for_one_portfolio(
    admin_client: APIClient, priced_book: Any, fake_chain: Any
) -> None:
    body = admin_client.post(f"{REFRESH}?portfolio_id={priced_book.pk}").json()
    assert body["scope"] == {
        "portfolios_targeted": 1,
        "positions_to_refresh": 3,
        "data_types": ["market_prices", "options_greeks", "factor_exposures", "historical_data"],
    }
    job = BatchJob.objects.get(pk=body["job_details"]["job_id"])
    assert job.portfolio_id == priced_book.pk


def test_refresh_with_an_unknown_portfolio_is_404_and_starts_nothing(
    admin_client: APIClient,
) -> None:
    response = admin_client.post(f"{REFRESH}?portfolio_id=00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert not BatchJob.objects.exists()


# --------------------------------------------------------------------------- S1–S3


def test_system_jobs_lists_with_pagination_and_filters(admin_client: APIClient) -> None:
    for _ in range(3):
        make_job()
    make_job(job_name="correlations", status="failed", error="x")
    body = admin_client.get(SYSTEM_JOBS, {"limit": 2}).json()
    assert len(body["jobs"]) == 2
    assert body["pagination"] == {
        "page": 1,
        "limit": 2,
        "total_pages": 2,
        "total_items": 4,
        "has_next": True,
        "has_prev": False,
    }
    body = admin_client.get(SYSTEM_JOBS, {"job_name": "correlations"}).json()
    assert [j["status"] for j in body["jobs"]] == ["failed"]
    body = admin_client.get(SYSTEM_JOBS, {"sort": "job_name", "order": "asc"}).json()
    assert body["jobs"][0]["job_name"] == "correlations"
    assert admin_client.get(SYSTEM_JOBS, {"sort": "password"}).status_code == 422
    assert admin_client.get(SYSTEM_JOBS, {"page": 0}).status_code == 422


def test_system_job_details_and_404(admin_client: APIClient) -> None:
    job = make_job(job_name="full_portfolio_calculation", metadata={"steps": [{"name": "x"}]})
    body = admin_client.get(f"{SYSTEM_JOBS}/{job.pk}").json()
    assert body["id"] == job.pk and body["metadata"]["steps"] == [{"name": "x"}]
    response = admin_client.get(f"{SYSTEM_JOBS}/job_nope")
    assert response.status_code == 404
    assert_error_envelope(response.json(), code="NOT_FOUND")


def test_system_job_delete_cancels(admin_client: APIClient) -> None:
    job = make_job(status="pending")
    body = admin_client.delete(f"{SYSTEM_JOBS}/{job.pk}").json()
    assert body["job_details"]["new_status"] == "cancelled"


def test_system_status_reports_health_batch_and_schedule(admin_client: APIClient) -> None:
    make_job(job_name="correlations", status="failed", error="boom")
    running = make_job(job_name="full_portfolio_calculation", status="running")
    body = admin_client.get(SYSTEM_STATUS).json()
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert body["celery"]["mode"] in ("eager", "broker")
    batch = body["batch"]
    assert batch["last_runs"]["correlations"]["status"] == "failed"
    assert batch["last_runs"]["stress_testing"] is None
    assert [j["id"] for j in batch["running_jobs"]] == [running.pk]
    assert batch["failures_24h"] == 1
    names = {e["name"] for e in body["scheduler"]["entries"]}
    assert "batch: daily sequence after the regular close" in names
    daily = next(e for e in body["scheduler"]["entries"] if e["name"].endswith("regular close"))
    assert daily["schedule"] == "30 16 * * 1-5" and daily["timezone"] == "America/New_York"
    assert body["market"]["last_completed_session"]


# --------------------------------------------------------------------------- Django admin


def test_django_admin_lists_shows_and_cancels_jobs(make_user: Any) -> None:
    from django.test import Client

    superuser = make_user(role="admin", is_superuser=True)  # as createsuperuser / seed_demo
    pending = make_job(status="pending")
    done = make_job(status="completed")
    client = Client()
    client.force_login(superuser)
    listing = client.get("/admin/batch/batchjob/?status__exact=pending")
    assert listing.status_code == 200 and pending.pk.encode() in listing.content
    assert done.pk.encode() not in listing.content
    # The admin escapes ids in its URLs ("_22" would read as a quote: a job started at
    # 22:xx UTC); build the link as its own pages do.
    detail = client.get(f"/admin/batch/batchjob/{quote(pending.pk)}/change/")
    assert detail.status_code == 200 and b"Save" not in detail.content  # read-only
    response = client.post(
        "/admin/batch/batchjob/",
        {"action": "cancel_selected_jobs", "_selected_action": [pending.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    pending.refresh_from_db()
    done.refresh_from_db()
    assert pending.status == "cancelled" and done.status == "completed"
    assert b"Not cancelled" in response.content


# --------------------------------------------------------------------------- starting jobs


def test_post_system_jobs_starts_a_job_and_answers_202_at_once(
    admin_client: APIClient,
    priced_book: Any,
    fake_chain: Any,
    eager_celery: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            SYSTEM_JOBS,
            {"job_name": "full_portfolio_calculation", "portfolio_ids": [str(priced_book.pk)]},
            format="json",
        )
    assert response.status_code == 202
    body = response.json()
    assert set(body) >= {"job_id", "status", "status_url"}
    assert body["status_url"] == f"/api/v1/system/jobs/{body['job_id']}"
    job = BatchJob.objects.get(pk=body["job_id"])
    assert job.job_name == "full_portfolio_calculation"
    assert job.portfolio_id == priced_book.pk
    assert job.metadata["portfolio_ids"] == [str(priced_book.pk)]
    assert job.requested_by_id == admin_client.user.pk  # type: ignore[attr-defined]
    followed = admin_client.get(body["status_url"]).json()
    assert followed["status"] == "completed" and followed["progress_percent"] == 100.0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"job_name": "no_such_job"}, "job_name"),
        ({}, "job_name"),
        ({"job_name": "risk_metrics", "portfolio_ids": ["not-a-uuid"]}, "portfolio_ids"),
        (
            {"job_name": "risk_metrics", "portfolio_ids": ["00000000-0000-0000-0000-000000000000"]},
            "portfolio_ids",
        ),
        ({"job_name": "risk_metrics", "portfolio_ids": []}, "portfolio_ids"),
    ],
)
def test_post_system_jobs_bad_input_is_422_and_starts_nothing(
    admin_client: APIClient, payload: dict[str, Any], field: str
) -> None:
    response = admin_client.post(SYSTEM_JOBS, payload, format="json")
    assert response.status_code == 422
    body = response.json()
    assert_error_envelope(body, code="VALIDATION_ERROR")
    assert any(field in item["loc"] for item in body["detail"])
    assert not BatchJob.objects.exists()


def test_post_system_jobs_is_for_admins(auth_client: APIClient) -> None:
    response = auth_client.post(SYSTEM_JOBS, {"job_name": "risk_metrics"}, format="json")
    assert response.status_code == 403
    assert not BatchJob.objects.exists()


@pytest.mark.django_db(transaction=True)  # the thread has its own connection: commit for real
def test_embedded_default_runs_a_started_job_in_a_background_thread(
    admin_client: APIClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request answers while the job still runs; the job then finishes on its own."""
    import threading

    from batch import registry, services

    release = threading.Event()

    def waits(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        for _ in ctx.items(range(2)):
            release.wait(timeout=30)
        return {}

    monkeypatch.setitem(registry.JOB_STEPS, "risk_metrics", waits)
    settings.BATCH_RUN_IN_THREAD = True
    threads: list[threading.Thread] = []
    real = services.run_in_background
    monkeypatch.setattr(
        services, "run_in_background", lambda *a, **k: threads.append(real(*a, **k))
    )
    response = admin_client.post(SYSTEM_JOBS, {"job_name": "risk_metrics"}, format="json")
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert BatchJob.objects.get(pk=job_id).status in ("pending", "running")  # not finished
    release.set()
    threads[0].join(timeout=30)
    job = BatchJob.objects.get(pk=job_id)
    assert job.status == "completed" and job.processed_items == 2


def test_admin_starts_a_job_watches_it_and_cancels_it(make_user: Any, settings: Any) -> None:
    """As an ops engineer would: "Start a job" in the admin, the list shows it with its
    progress, and the cancel action stops it."""
    from django.test import Client

    settings.BATCH_RUN_IN_THREAD = False  # queued for a worker that is not running here
    admin_user = make_user(role="admin")
    client = Client()
    client.force_login(admin_user)
    form = client.get("/admin/batch/batchjob/start/")
    assert form.status_code == 200 and b"full_portfolio_calculation" in form.content
    listing = client.get("/admin/batch/batchjob/")
    assert b"/admin/batch/batchjob/start/" in listing.content  # the "Start a job" button
    response = client.post(
        "/admin/batch/batchjob/start/", {"job_name": "full_portfolio_calculation"}, follow=True
    )
    assert response.status_code == 200 and b"Started" in response.content
    job = BatchJob.objects.get()
    assert job.job_name == "full_portfolio_calculation"
    assert job.metadata["source"] == "admin_action" and job.requested_by_id == admin_user.pk
    BatchJob.objects.filter(pk=job.pk).update(
        status="running",
        total_items=40,
        processed_items=10,
        metadata={**job.metadata, "current_step": "risk_metrics"},
    )
    listing = client.get("/admin/batch/batchjob/")
    assert b"10/40 (25%)" in listing.content and b"risk_metrics" in listing.content
    client.post(
        "/admin/batch/batchjob/",
        {"action": "cancel_selected_jobs", "_selected_action": [job.pk]},
    )
    job.refresh_from_db()
    assert job.cancel_requested_at is not None


def test_admin_start_with_a_bad_portfolio_shows_the_error_and_starts_nothing(
    make_user: Any,
) -> None:
    from django.test import Client

    client = Client()
    client.force_login(make_user(role="admin"))
    for ids in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = client.post(
            "/admin/batch/batchjob/start/", {"job_name": "risk_metrics", "portfolio_ids": ids}
        )
        assert response.status_code == 200 and b"errorlist" in response.content
    assert not BatchJob.objects.exists()


def test_a_trader_cannot_open_the_admin_start_page(make_user: Any) -> None:
    from django.test import Client

    client = Client()
    client.force_login(make_user(role="trader", is_staff=True))
    assert client.get("/admin/batch/batchjob/start/").status_code in (302, 403)
    assert not BatchJob.objects.exists()


def test_a_force_cancelled_chain_shows_no_running_step() -> None:
    from batch import services

    job = make_job(
        job_name="full_portfolio_calculation",
        status="running",
        metadata={
            "steps": [
                {"name": "market_data_update", "status": "completed"},
                {"name": "greeks_calculation", "status": "running"},
            ],
            "current_step": "greeks_calculation",
        },
    )
    BatchJob.objects.filter(pk=job.pk).update(
        cancel_requested_at=timezone.now() - dt.timedelta(minutes=6)
    )
    outcome = services.job_cancel(job_id=job.pk)  # the worker is presumed dead
    assert outcome.job.status == "cancelled"
    job.refresh_from_db()
    assert [s["status"] for s in job.metadata["steps"]] == ["completed", "cancelled"]
    assert "current_step" not in job.metadata


def test_job_status_is_paginated(admin_client: APIClient) -> None:
    for _ in range(5):
        make_job()
    first = admin_client.get(STATUS, {"limit": 2}).json()
    assert first["pagination"]["total_items"] == 5 and first["pagination"]["total_pages"] == 3
    assert len(first["jobs"]) == 2 and first["summary"]["total_jobs"] == 5
    last = admin_client.get(STATUS, {"limit": 2, "page": 3}).json()
    assert len(last["jobs"]) == 1 and last["pagination"]["has_next"] is False
    seen = {
        j["id"]
        for page in (1, 2, 3)
        for j in admin_client.get(STATUS, {"limit": 2, "page": page}).json()["jobs"]
    }
    assert len(seen) == 5
    ordered = admin_client.get(STATUS, {"sort": "created_at", "order": "asc"}).json()["jobs"]
    stamps = [j["created_at"] for j in ordered]
    assert stamps == sorted(stamps)
    bad = admin_client.get(STATUS, {"sort": "password"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "sort"]
