"""A deterministic synthetic legacy codebase for the benchmark.

``generate(root, modules=2000, all_sqlalchemy=False, seed=0)`` writes a package tree of
``modules`` Python files (about 150 lines each) and a few Jinja templates. The mix is
what a real service monorepo looks like: per domain a models module (declarative classes
with relationships and backrefs), a repository (``session.query`` chains), a service
calling the repositories, Flask views (``Model.query``, ``db.session``) and FastAPI
routers (``Depends(get_db)``), and -- unless ``all_sqlalchemy`` -- a large share of
modules that never touch SQLAlchemy (utilities, parsing, formatting, HTTP clients,
dataclasses, their tests). The same arguments always give the same bytes.
"""

from __future__ import annotations

import random
from pathlib import Path

#: of every ten modules of a domain, how many are of each kind (default corpus)
DEFAULT_MIX = (
    ("models", 1),
    ("repository", 1),
    ("service", 1),
    ("views", 1),
    ("router", 1),
    ("plain", 5),
)
#: the all-SQLAlchemy corpus: every module reads or writes the database
SQLALCHEMY_MIX = (
    ("models", 2),
    ("repository", 3),
    ("service", 2),
    ("views", 2),
    ("router", 1),
)

WORDS = [
    "account",
    "order",
    "invoice",
    "product",
    "customer",
    "shipment",
    "ticket",
    "article",
    "comment",
    "tag",
    "payment",
    "refund",
    "warehouse",
    "supplier",
    "review",
    "coupon",
    "category",
    "report",
    "session_log",
    "subscription",
    "plan",
    "device",
    "alert",
]


def _camel(word: str) -> str:
    return "".join(part.capitalize() for part in word.split("_"))


class _Writer:
    def __init__(self, rng: random.Random, domain: str, numbers: dict[str, list[int]]) -> None:
        self.rng = rng
        self.domain = domain
        self.numbers = numbers
        self.model = _camel(domain)
        self.child = self.model + "Item"

    def model_of(self, number: int) -> int:
        """The models module a module numbered ``number`` works with."""
        models = self.numbers.get("models") or [0]
        return models[number % len(models)]

    def repository_of(self, number: int) -> int:
        repositories = self.numbers.get("repository") or [0]
        return repositories[number % len(repositories)]

    # -- SQLAlchemy modules ------------------------------------------------------------
    def models(self, number: int) -> str:
        d, m, c = self.domain, self.model, self.child
        fields = [f"field_{i}" for i in range(self.rng.randint(6, 12))]
        columns = "\n".join(f"    {f} = Column(String(64), nullable=True)" for f in fields)
        props = "\n".join(
            f"    def describe_{f}(self):\n        return '%s=%s' % ({f!r}, self.{f})\n"
            for f in fields[:6]
        )
        return f'''"""Models of the {d} domain ({number})."""
import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import backref, relationship

Base = declarative_base()


class {m}{number}(Base):
    __tablename__ = "{d}_{number}"

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False, index=True)
    created_at = Column(DateTime, default=datetime.datetime.utcnow)
    active = Column(Boolean, default=True)
    notes = Column(Text)
{columns}

    items = relationship("{c}{number}", backref="owner", order_by="{c}{number}.id")

    def __repr__(self):
        return "<{m}{number} %r>" % self.name

{props}
    def item_count(self):
        return len(self.items)


class {c}{number}(Base):
    __tablename__ = "{d}_item_{number}"

    id = Column(Integer, primary_key=True)
    owner_id = Column(Integer, ForeignKey("{d}_{number}.id"), nullable=False)
    label = Column(String(64))
    quantity = Column(Integer, default=0)
    parent_id = Column(Integer, ForeignKey("{d}_item_{number}.id"))
    children = relationship("{c}{number}", backref=backref("parent", remote_side=[id]))

    def total(self):
        return self.quantity * 2
'''

    def repository(self, number: int) -> str:
        d, m, c = self.domain, self.model, self.child
        target = self.model_of(number)
        methods = []
        for i in range(self.rng.randint(6, 10)):
            methods.append(
                f"""    def find_{i}(self, name, limit=20):
        query = self.session.query({m}{target}).filter({m}{target}.name == name)
        if limit:
            query = query.limit(limit)
        return query.order_by({m}{target}.created_at.desc()).all()

    def count_{i}(self, active=True):
        return self.session.query({m}{target}).filter_by(active=active).count()

    def first_{i}(self, item_id):
        return (
            self.session.query({c}{target})
            .filter({c}{target}.owner_id == item_id)
            .order_by({c}{target}.id)
            .first()
        )
"""
            )
        body = "\n".join(methods)
        return f'''"""Data access for {d} ({number})."""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from corpus.{d}.models_{target} import {c}{target}, {m}{target}

engine = create_engine("sqlite:///{d}.db")
SessionLocal = sessionmaker(bind=engine)


class {m}Repository{number}:
    def __init__(self, session):
        self.session = session

    def get(self, item_id):
        return self.session.query({m}{target}).get(item_id)

    def add(self, name):
        row = {m}{target}(name=name)
        self.session.add(row)
        self.session.commit()
        return row

{body}

def count_all():
    session = SessionLocal()
    try:
        return session.query({m}{target}).count()
    finally:
        session.close()
'''

    def service(self, number: int) -> str:
        d, m = self.domain, self.model
        repository = self.repository_of(number + self.rng.randint(0, 3))
        target = self.model_of(repository)
        funcs = []
        for i in range(self.rng.randint(5, 9)):
            funcs.append(
                f"""def summarize_{i}(session, name):
    repo = {m}Repository{repository}(session)
    rows = repo.find_{i % 6}(name)
    total = 0
    for row in rows:
        total += len(row.items)
        for item in row.items:
            total += item.quantity
    return {{"name": name, "rows": len(rows), "total": total}}


def rename_{i}(session, item_id, new_name):
    row = session.query({m}{target}).get(item_id)
    if row is None:
        return None
    row.name = new_name
    session.commit()
    return row.owner if hasattr(row, "owner") else row
"""
            )
        body = "\n\n".join(funcs)
        return f'''"""Business rules of {d} ({number})."""
import logging

from corpus.{d}.models_{target} import {m}{target}
from corpus.{d}.repository_{repository} import {m}Repository{repository}

log = logging.getLogger(__name__)


{body}
'''

    def views(self, number: int) -> str:
        d, m = self.domain, self.model
        target = f"Record{number}"
        routes = []
        for i in range(self.rng.randint(5, 9)):
            routes.append(
                f'''@bp.route("/{d}/{i}/<int:item_id>")
def show_{i}(item_id):
    row = {m}{target}.query.get_or_404(item_id)
    others = {m}{target}.query.filter_by(active=True).order_by({m}{target}.id).all()
    return render_template("{d}.html", row=row, others=others)


@bp.route("/{d}/{i}", methods=["POST"])
def create_{i}():
    row = {m}{target}(name=request.form["name"])
    db.session.add(row)
    db.session.commit()
    flash("created")
    return redirect(url_for(".show_{i}", item_id=row.id))
'''
            )
        body = "\n\n".join(routes)
        return f'''"""Flask views of {d} ({number})."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
bp = Blueprint("{d}_{number}", __name__)


class {m}{target}(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80))
    active = db.Column(db.Boolean, default=True)


{body}
'''

    def router(self, number: int) -> str:
        d, m = self.domain, self.model
        repository = self.repository_of(number)
        target = self.model_of(repository)
        endpoints = []
        for i in range(self.rng.randint(5, 9)):
            endpoints.append(
                f"""@router.get("/{d}/{i}/{{item_id}}")
def read_{i}(item_id: int, db: Session = Depends(get_db)):
    row = db.query({m}{target}).filter({m}{target}.id == item_id).first()
    if row is None:
        raise HTTPException(status_code=404)
    return {{"id": row.id, "name": row.name}}


@router.get("/{d}/{i}")
def list_{i}(skip: int = 0, limit: int = 100, db: Session = Depends(get_db)):
    return db.query({m}{target}).offset(skip).limit(limit).all()
"""
            )
        body = "\n\n".join(endpoints)
        return f'''"""FastAPI routes of {d} ({number})."""
from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session

from corpus.{d}.models_{target} import {m}{target}
from corpus.{d}.repository_{repository} import SessionLocal

router = APIRouter()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


{body}
'''

    # -- modules that never touch SQLAlchemy --------------------------------------------
    def plain(self, number: int) -> str:
        d = self.domain
        kind = self.rng.choice(("util", "parser", "client", "dto", "test"))
        parts = []
        for i in range(self.rng.randint(8, 14)):
            parts.append(getattr(self, f"_plain_{kind}")(i))
        body = "\n\n".join(parts)
        return f'''"""{kind.capitalize()} helpers of {d} ({number}); no database here."""
import dataclasses
import json
import os
import re
from collections import defaultdict
from typing import Any, Iterable

SLUG = re.compile(r"[^a-z0-9]+")


{body}
'''

    def _plain_util(self, i: int) -> str:
        return f"""def slugify_{i}(text: str) -> str:
    cleaned = SLUG.sub("-", text.lower()).strip("-")
    if len(cleaned) > {40 + i}:
        cleaned = cleaned[: {40 + i}]
    return cleaned or "item-{i}"


def chunks_{i}(values: Iterable[Any], size: int = {i + 2}) -> list[list[Any]]:
    batch: list[Any] = []
    out = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            out.append(batch)
            batch = []
    if batch:
        out.append(batch)
    return out
"""

    def _plain_parser(self, i: int) -> str:
        return f"""def parse_line_{i}(line: str) -> dict[str, str]:
    fields = {{}}
    for part in line.split(";"):
        if "=" not in part:
            continue
        key, _, value = part.partition("=")
        fields[key.strip()] = value.strip()
    return fields


def load_config_{i}(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        return {{"version": {i}}}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
"""

    def _plain_client(self, i: int) -> str:
        return f'''class Client{i}:
    """A small HTTP-ish client with retries."""

    def __init__(self, base_url: str, retries: int = {i % 4 + 1}) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.calls = defaultdict(int)

    def url(self, path: str) -> str:
        self.calls[path] += 1
        return self.base_url + "/" + path.lstrip("/")

    def backoff(self, attempt: int) -> float:
        return min(30.0, 0.5 * (2 ** attempt))
'''

    def _plain_dto(self, i: int) -> str:
        return f"""@dataclasses.dataclass
class Payload{i}:
    name: str
    amount: int = {i}
    tags: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Payload{i}":
        return cls(**json.loads(text))
"""

    def _plain_test(self, i: int) -> str:
        return f"""def test_roundtrip_{i}():
    data = {{"name": "n{i}", "amount": {i}}}
    text = json.dumps(data)
    assert json.loads(text) == data


def test_split_{i}():
    parts = "a;b;c".split(";")
    assert len(parts) == 3
    assert parts[{i % 3}] in "abc"
"""


TEMPLATE = """<h1>{{ row.name }}</h1>
<ul>
{% for item in row.items %}<li>{{ item.label }} ({{ item.quantity }})</li>{% endfor %}
</ul>
{% for other in others %}<a href="#">{{ other.name }}</a>{% endfor %}
"""


def generate(root: Path, modules: int = 2000, all_sqlalchemy: bool = False, seed: int = 0) -> int:
    """Write the corpus under ``root`` (which must be empty or absent); its line count."""
    rng = random.Random(seed)
    mix = SQLALCHEMY_MIX if all_sqlalchemy else DEFAULT_MIX
    kinds = [kind for kind, weight in mix for _ in range(weight)]
    package = root / "corpus"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    lines = 0
    domains = WORDS[: max(1, min(len(WORDS), modules // 40))]
    per_domain = -(-modules // len(domains))
    written = 0
    for domain in domains:
        folder = package / domain
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").write_text("")
        templates = folder / "templates"
        templates.mkdir(exist_ok=True)
        (templates / f"{domain}.html").write_text(TEMPLATE)
        count = min(per_domain, modules - written)
        chosen = [kinds[number % len(kinds)] for number in range(count)]
        numbers: dict[str, list[int]] = {}
        for number, kind in enumerate(chosen):
            numbers.setdefault(kind, []).append(number)
        writer = _Writer(rng, domain, numbers)
        for number, kind in enumerate(chosen):
            text = getattr(writer, kind)(number)
            (folder / f"{kind}_{number}.py").write_text(text)
            lines += text.count("\n")
            written += 1
    return lines
