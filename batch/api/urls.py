"""Batch and system routes, included under /api/v1/ by sigmasight/urls.py."""

from django.urls import path

from batch.api import views

urlpatterns = [
    path("admin/batch/jobs/status", views.JobStatusView.as_view(), name="batch-jobs-status"),
    path("admin/batch/jobs/summary", views.JobSummaryView.as_view(), name="batch-jobs-summary"),
    path(
        "admin/batch/jobs/<str:job_id>/cancel",
        views.JobCancelView.as_view(),
        name="batch-job-cancel",
    ),
    path("system/jobs", views.SystemJobListView.as_view(), name="system-jobs"),
    path("system/jobs/<str:job_id>", views.SystemJobDetailView.as_view(), name="system-job"),
    path("system/status", views.SystemStatusView.as_view(), name="system-status"),
]
