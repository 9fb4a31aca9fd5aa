"""Migrated code reading association proxies and subclass attributes never lazy-loads.

A small legacy project (association proxies, a joined-table and a single-table
inheritance hierarchy, services reading proxies and subclass columns of query results)
is migrated to ``--target async``. Each program runs in a process of its own: the legacy
code on a synchronous ``Session`` (with SQLAlchemy 1.4 when
``SQLA_UPGRADE_LEGACY_PYTHON`` names such an interpreter, on SQLite), the migrated code
on an ``AsyncSession`` (aiosqlite, and asyncpg when ``SQLA_UPGRADE_PG_URL`` is set),
where any lazy load left raises ``MissingGreenlet``. Both must return the same values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sqla_upgrade.api import migrate_project

LEGACY = {
    "shop.models": """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.ext.associationproxy import association_proxy
        from sqlalchemy.orm import declarative_base, relationship

        Base = declarative_base()


        class Keyword(Base):
            __tablename__ = "pi_keywords"
            id = Column(Integer, primary_key=True)
            word = Column(String(50))


        class ArticleKeyword(Base):
            __tablename__ = "pi_article_keywords"
            article_id = Column(ForeignKey("pi_articles.id"), primary_key=True)
            keyword_id = Column(ForeignKey("pi_keywords.id"), primary_key=True)
            note = Column(String(50))
            keyword = relationship(Keyword)


        class Article(Base):
            __tablename__ = "pi_articles"
            id = Column(Integer, primary_key=True)
            title = Column(String(50))
            kw_links = relationship(ArticleKeyword, order_by=ArticleKeyword.keyword_id)
            keywords = association_proxy("kw_links", "keyword")
            notes = association_proxy("kw_links", "note")


        class Company(Base):
            __tablename__ = "pi_companies"
            id = Column(Integer, primary_key=True)
            staff = relationship("Employee", order_by="Employee.id")


        class Employee(Base):
            __tablename__ = "pi_employees"
            id = Column(Integer, primary_key=True)
            company_id = Column(ForeignKey("pi_companies.id"))
            name = Column(String(50))
            type = Column(String(20))
            __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "employee"}


        class Engineer(Employee):
            __tablename__ = "pi_engineers"
            id = Column(ForeignKey("pi_employees.id"), primary_key=True)
            engineer_name = Column(String(50))
            __mapper_args__ = {"polymorphic_identity": "engineer"}

            def badge(self):
                return f"{self.name} ({self.engineer_name})"


        class Manager(Employee):
            __tablename__ = "pi_managers"
            id = Column(ForeignKey("pi_employees.id"), primary_key=True)
            manager_name = Column(String(50))
            __mapper_args__ = {"polymorphic_identity": "manager"}


        class Clerk(Employee):
            desk = Column(String(20))
            __mapper_args__ = {"polymorphic_identity": "clerk"}
    """,
    "shop.services": """
        from sqlalchemy.orm import Session

        from shop.models import Article, Company, Employee, Engineer, Manager


        def keyword_words(session: Session):
            articles = session.query(Article).order_by(Article.id)
            return [(a.title, [k.word for k in a.keywords]) for a in articles]


        def note_counts(session: Session, article_id):
            article = session.query(Article).get(article_id)
            return [len(article.notes), list(article.notes)]


        def describe(session: Session):
            lines = []
            for e in session.query(Employee).order_by(Employee.id):
                if isinstance(e, Engineer):
                    lines.append(f"{e.name}: {e.engineer_name}")
                elif isinstance(e, Manager):
                    lines.append(f"{e.name}: {e.manager_name}")
                else:
                    lines.append(e.name)
            return lines


        def desks(session: Session, company_id):
            company = session.query(Company).get(company_id)
            return [e.desk for e in company.staff if e.type == "clerk"]


        def badges(session: Session):
            engineers = session.query(Employee).filter(Employee.type == "engineer")
            return [e.badge() for e in engineers.order_by(Employee.id)]
    """,
}

CALLS: list[tuple[str, list[Any]]] = [
    ("keyword_words", []),
    ("note_counts", [1]),
    ("describe", []),
    ("desks", [1]),
    ("badges", []),
]

#: imports ``shop`` from a directory, seeds the database (sync) and prints the calls'
#: results as JSON, calling them on a Session or, for coroutine functions, an AsyncSession
DRIVER = """
import asyncio, inspect, json, sys

root, sync_url, async_url, sync_args, async_args, calls, seed = sys.argv[1:]
sys.path.insert(0, root)
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from shop import models, services

if seed == "seed":
    engine = create_engine(sync_url, connect_args=json.loads(sync_args))
    models.Base.metadata.drop_all(engine)
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        red, blue = models.Keyword(id=1, word="red"), models.Keyword(id=2, word="blue")
        session.add_all([
            models.Article(id=1, title="first", kw_links=[
                models.ArticleKeyword(keyword=red, note="n1"),
                models.ArticleKeyword(keyword=blue, note="n2"),
            ]),
            models.Article(id=2, title="second", kw_links=[
                models.ArticleKeyword(keyword=blue, note="n3"),
            ]),
            models.Company(id=1, staff=[
                models.Employee(id=1, name="eve"),
                models.Engineer(id=2, name="gil", engineer_name="backend"),
                models.Manager(id=3, name="max", manager_name="ops"),
                models.Clerk(id=4, name="cal", desk="d4"),
                models.Engineer(id=5, name="ida", engineer_name="frontend"),
            ]),
        ])
        session.commit()
    engine.dispose()


async def run_async():
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine(async_url, connect_args=json.loads(async_args))
    results = []
    try:
        for name, args in json.loads(calls):
            async with AsyncSession(engine, expire_on_commit=False) as session:
                results.append(await getattr(services, name)(session, *args))
    finally:
        await engine.dispose()
    return results


def run_sync():
    engine = create_engine(sync_url, connect_args=json.loads(sync_args))
    results = []
    for name, args in json.loads(calls):
        with Session(engine) as session:
            results.append(getattr(services, name)(session, *args))
    return results


migrated = inspect.iscoroutinefunction(services.describe)
print(json.dumps(asyncio.run(run_async()) if migrated else run_sync()))
"""


def _write(root: Path, sources: dict[str, str]) -> Path:
    for name, code in sources.items():
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(code)
    return root


def _run(python: str, root: Path, urls: dict[str, str], seed: bool) -> Any:
    command = [
        python,
        "-c",
        DRIVER,
        str(root),
        urls["sync"],
        urls["async"],
        urls["sync_args"],
        urls["async_args"],
        json.dumps(CALLS),
        "seed" if seed else "",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _databases() -> Iterator[Any]:
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get("SQLA_UPGRADE_PG_URL"), reason="SQLA_UPGRADE_PG_URL not set"
        ),
    )


def _sqlite_urls(file: Path) -> dict[str, str]:
    return {
        "sync": f"sqlite:///{file}",
        "async": f"sqlite+aiosqlite:///{file}",
        "sync_args": "{}",
        "async_args": "{}",
    }


def _pg_urls(schema: str) -> dict[str, str]:
    url = make_url(os.environ["SQLA_UPGRADE_PG_URL"])
    return {
        "sync": url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False),
        "async": url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False),
        "sync_args": json.dumps({"options": f"-csearch_path={schema}"}),
        "async_args": json.dumps({"server_settings": {"search_path": schema}}),
    }


def _migrated(sources: dict[str, str]) -> dict[str, str]:
    migrated = {name: m.code for name, m in migrate_project(sources, target="async").items()}
    services = migrated["shop.services"]
    assert "selectinload(Article.kw_links).joinedload(ArticleKeyword.keyword)" in services
    assert "selectin_polymorphic(Employee, [Engineer, Manager])" in services
    assert "selectinload(Company.staff).selectin_polymorphic([Clerk])" in services
    assert "TODO(sqla-upgrade)" not in "".join(migrated.values())
    return migrated


@pytest.mark.parametrize("kind", list(_databases()))
def test_migrated_proxies_and_subclass_reads_return_what_legacy_did(
    kind: str, tmp_path: Path
) -> None:
    sources = {name: textwrap.dedent(code).lstrip("\n") for name, code in LEGACY.items()}
    legacy = _write(tmp_path / "legacy", sources)
    migrated = _write(tmp_path / "migrated", _migrated(sources))
    schema = f"eager_pi_{uuid.uuid4().hex[:8]}" if kind == "postgresql" else ""
    urls = _pg_urls(schema) if schema else _sqlite_urls(tmp_path / "shop.db")
    if schema:
        with create_engine(urls["sync"]).begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        expected = _run(sys.executable, legacy, urls, seed=True)
        actual = _run(sys.executable, migrated, urls, seed=False)
    finally:
        if schema:
            with create_engine(urls["sync"]).begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    assert actual == expected
    assert expected[2] == ["eve", "gil: backend", "max: ops", "cal", "ida: frontend"]


@pytest.mark.skipif(
    not os.environ.get("SQLA_UPGRADE_LEGACY_PYTHON"), reason="SQLA_UPGRADE_LEGACY_PYTHON not set"
)
def test_the_legacy_program_gives_the_same_results_on_sqlalchemy_1_4(tmp_path: Path) -> None:
    sources = {name: textwrap.dedent(code).lstrip("\n") for name, code in LEGACY.items()}
    legacy = _write(tmp_path / "legacy", sources)
    migrated = _write(tmp_path / "migrated", _migrated(sources))
    urls = _sqlite_urls(tmp_path / "shop.db")
    expected = _run(os.environ["SQLA_UPGRADE_LEGACY_PYTHON"], legacy, urls, seed=True)
    assert _run(sys.executable, migrated, urls, seed=False) == expected
