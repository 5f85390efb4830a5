"""The Celery application: configured from Django settings (``CELERY_*``), tasks autodiscovered.

Start a worker and beat against Redis with::

    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 celery -A frontoffice worker -l info
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 celery -A frontoffice beat -l info

With no ``CELERY_BROKER_URL`` tasks run eagerly in-process (the embedded default).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")

app = Celery("frontoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
