"""The Celery app. Tasks are thin entry points over services (see each app's tasks.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")

app = Celery("sigmasight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
