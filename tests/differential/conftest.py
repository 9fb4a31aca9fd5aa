"""Databases for the differential suite, and the summary printed at the end of the run.

* SQLite: always (in memory, one connection shared through ``StaticPool``).
* PostgreSQL: when ``SQLA_UPGRADE_PG_URL`` is set, e.g.
  ``postgresql+psycopg2://postgres@127.0.0.1:5432/test``.
* MariaDB/MySQL: when ``SQLA_UPGRADE_MYSQL_URL`` is set, e.g.
  ``mysql+pymysql://root@127.0.0.1:3306/test``.

For a server database, a fresh database ``sqla_diff_<random>`` is created through an
autocommit connection to the given URL, seeded, used for the whole test session and
dropped at the end. Without the URL the database's cases are skipped with the reason
shown, except when ``CI=true``: then a missing URL fails them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool, StaticPool

from .models_src import load_models, seed
from .runner import STATS, report_path

DATABASES = {
    "sqlite": None,
    "postgresql": "SQLA_UPGRADE_PG_URL",
    "mariadb": "SQLA_UPGRADE_MYSQL_URL",
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _seeded(engine: Engine) -> Engine:
    load_models()
    with engine.begin() as connection:
        seed(connection)
    return engine


def _sqlite() -> Iterator[Engine]:
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    yield _seeded(engine)
    engine.dispose()


# drivers to try, in order, when a URL names none and the dialect's default is missing
# (SQLAlchemy 2.1 defaults postgresql:// to psycopg 3, mysql:// to mysqlclient)
FALLBACK_DRIVERS = {
    "postgresql": ("psycopg2", "pg8000"),
    "mysql": ("pymysql",),
    "mariadb": ("pymysql",),
}


def _driver_url(url_text: str) -> URL:
    """The URL with a driver that is installed, when it names none."""
    url = make_url(url_text)
    if "+" in url.drivername:
        return url
    candidates = [url] + [
        url.set(drivername=f"{url.drivername}+{driver}")
        for driver in FALLBACK_DRIVERS.get(url.drivername, ())
    ]
    for candidate in candidates:
        try:
            candidate.get_dialect().import_dbapi()
        except ImportError:
            continue
        return candidate
    return url


def _server(url_text: str) -> Iterator[Engine]:
    url = _driver_url(url_text)
    name = f"sqla_diff_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    is_pg = url.get_backend_name() == "postgresql"
    quoted = f'"{name}"' if is_pg else f"`{name}`"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quoted}"))
    engine = None
    try:
        engine = create_engine(url.set(database=name))
        yield _seeded(engine)
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as connection:
            if is_pg:
                connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
        admin.dispose()


@pytest.fixture(scope="session", params=list(DATABASES))
def database(request: pytest.FixtureRequest) -> Iterator[tuple[str, Engine]]:
    """(name, engine) of a seeded database; the test's transactions are rolled back."""
    name = request.param
    env = DATABASES[name]
    if env is None:
        for engine in _sqlite():
            yield name, engine
        return
    url = os.environ.get(env)
    if not url:
        reason = f"{name}: set {env} to run the differential cases on it"
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: a missing database is a failure)")
        STATS.skipped_dbs[name] = f"{env} not set"
        pytest.skip(reason)
    for engine in _server(url):
        yield name, engine


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    lines = STATS.summary_lines()
    if not lines:
        return
    terminalreporter.section("sqla-upgrade differential summary")
    for line in lines:
        terminalreporter.write_line(line)
    path = report_path()
    if path:
        STATS.write_report(path)
        terminalreporter.write_line(f"full report of failures written to {path}")
