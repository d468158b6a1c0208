"""Superset configuration of the real-service test stack (tests/stack/services/superset.sh).

Everything host-specific comes from the environment, so the file itself holds no secret.
"""
import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_DATABASE_URI"]

# SQLite metadata: wait on a lock instead of failing at once when two requests write together.
SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"timeout": 30}}

# Tests log in many times in a row: no login rate limit (FAB's AUTH_RATE_LIMIT is 5 per second).
AUTH_RATE_LIMITED = False
RATELIMIT_ENABLED = False

# DATA_DIR follows SUPERSET_HOME (set by the service to a folder of the run folder).
SUPERSET_WEBSERVER_TIMEOUT = 120
LOG_LEVEL = "INFO"
