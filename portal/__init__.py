"""Project configuration: settings, URLs, the Celery app and the WSGI entry point.

No domain code lives here; see the ``governance``, ``lineage``, ``registry`` and ``evidence`` apps.
"""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
