"""Superset settings for the OpenLMIS analytics platform.

Every secret comes from the environment (compose fills it from the project's .env),
so this file holds no credentials and is baked into the image unchanged.
"""

import os
from urllib.parse import quote


def _require(name: str, purpose: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        # Superset would otherwise start with a default key (sessions forgeable,
        # stored database passwords decryptable) or crash later with a vaguer error.
        raise RuntimeError(
            f"{name} is not set or empty: {purpose}. Run `olmisctl init` to generate "
            f"it in .env, then recreate the superset container."
        )
    return value


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


SECRET_KEY = _require(
    "SUPERSET_SECRET_KEY",
    "Superset signs sessions and encrypts stored database passwords with it",
)
# Set only while rotating SECRET_KEY (`superset re-encrypt-secrets` reads it).
_previous_secret_key = os.environ.get("SUPERSET_PREVIOUS_SECRET_KEY", "").strip()
if _previous_secret_key:
    PREVIOUS_SECRET_KEY = _previous_secret_key

_db_password = _require(
    "SUPERSET_DB_PASSWORD", "it is the password of Superset's metadata database"
)
SQLALCHEMY_DATABASE_URI = "postgresql+psycopg2://{user}:{password}@{host}:{port}/{name}".format(
    user=quote(os.environ.get("SUPERSET_DB_USER", "superset"), safe=""),
    password=quote(_db_password, safe=""),
    host=os.environ.get("SUPERSET_DB_HOST", "superset-db"),
    port=os.environ.get("SUPERSET_DB_PORT", "5432"),
    name=os.environ.get("SUPERSET_DB_NAME", "superset"),
)
# The metadata database container can restart under a running Superset.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

# olmisctl drives imports through the REST API with a JWT, the CSRF token and the
# session cookie; keeping CSRF on costs it nothing and protects browser sessions.
WTF_CSRF_ENABLED = True

# The stack publishes Superset on 127.0.0.1 over plain HTTP; a TLS-terminating proxy
# in front should set SUPERSET_COOKIE_SECURE and SUPERSET_ENABLE_PROXY_FIX.
SESSION_COOKIE_SECURE = _flag("SUPERSET_COOKIE_SECURE", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
ENABLE_PROXY_FIX = _flag("SUPERSET_ENABLE_PROXY_FIX", False)

# No anonymous access: every viewer logs in.
PUBLIC_ROLE_LIKE = None

FEATURE_FLAGS = {
    # Lets an administrator restrict each dashboard to roles (e.g. one per region),
    # which matches how OpenLMIS deployments split access by geography.
    "DASHBOARD_RBAC": True,
    # Jinja in SQL widens what a chart author can make the database do; the shipped
    # datasets don't need it.
    "ENABLE_TEMPLATE_PROCESSING": False,
    # Reports need a Celery worker and a headless browser, which the stack doesn't run.
    "ALERT_REPORTS": False,
    "EMBEDDED_SUPERSET": False,
}

# The stack runs Superset without Redis and with a single gunicorn worker, so
# per-process caches are coherent; they just don't survive a restart.
CACHE_CONFIG = {
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": 300,
    "CACHE_KEY_PREFIX": "superset_meta_",
}
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": 600,
    "CACHE_KEY_PREFIX": "superset_data_",
}
FILTER_STATE_CACHE_CONFIG = {
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": 86400,
    "CACHE_KEY_PREFIX": "superset_filter_",
}
EXPLORE_FORM_DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": 86400,
    "CACHE_KEY_PREFIX": "superset_explore_",
}
RATELIMIT_STORAGE_URI = "memory://"
