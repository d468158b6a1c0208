"""Superset configuration of the real-service test stack (tests/stack/services/superset.sh).

It runs the production settings (superset/superset_config.py, baked into the olmis/superset image)
and changes only what the test stack must: the metadata database is SQLite in the run folder
(SUPERSET_DATABASE_URI) instead of PostgreSQL. Everything else (SECRET_KEY from
SUPERSET_SECRET_KEY, CSRF, feature flags, caches) is the production file's, so tests see the
same behaviour. The service also sets SUPERSET_ENV=production as the apache/superset image does
(rate limits on: 5 logins/s, 50 requests/s).
"""
import os
import runpy

_PROD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "superset",
                     "superset_config.py")

# The production file insists on the PostgreSQL password; the URI it builds is replaced below.
os.environ.setdefault("SUPERSET_DB_PASSWORD", "unused-by-the-test-stack")
if os.path.exists(_PROD):
    globals().update({k: v for k, v in runpy.run_path(_PROD).items() if k.isupper()})
else:  # the production file moved: keep the test stack working on the essentials
    SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]

SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_DATABASE_URI"]
# SQLite: wait on a lock instead of failing at once when two requests write together.
SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"timeout": 30}}
