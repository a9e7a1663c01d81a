"""SigmaSight: portfolio risk analytics and 0DTE signals."""

from sigmasight.celery import app as celery_app

__all__ = ("celery_app",)
