"""The read-only facts about a whole project that passes consult.

Built once per run (``index.builder``) before any file is transformed, then handed to
every worker. All names are fully qualified (``package.module.Name``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ObjectKind(str, Enum):
    """What a module-level name (or a function's result) is, for SQLAlchemy purposes."""

    SESSION_FACTORY = "session_factory"  # sessionmaker(...): calling it gives a session
    SCOPED_SESSION = (
        "scoped_session"  # scoped_session(...): acts as a session, and calling it gives one
    )
    SESSION = "session"  # Session(...) instance
    SESSION_PROVIDER = "session_provider"  # function returning/yielding a session (get_db)
    FLASK_SQLALCHEMY = "flask_sqlalchemy"  # db = SQLAlchemy(): db.session is a session
    ENGINE = "engine"  # create_engine(...)
    METADATA = "metadata"  # MetaData(...) or Base.metadata


@dataclass
class RelationshipFacts:
    name: str
    target: str | None  # qualified class name where resolvable, else the literal string
    uselist: bool | None = None  # None: decided by the relationship's direction
    lazy: str | None = None
    secondary: bool = False
    back_populates: str | None = None
    backref: str | None = None
    line: int = 0


@dataclass
class ModelFacts:
    qualname: str
    bases: list[str]
    relationships: dict[str, RelationshipFacts] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class FunctionFacts:
    qualname: str
    line: int
    is_async: bool
    is_generator: bool = False
    params: list[str] = field(default_factory=list)
    decorators: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # qualified callee names, best effort


@dataclass
class ModuleFacts:
    name: str
    path: str
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    objects: dict[str, ObjectKind] = field(default_factory=dict)  # qualified name -> kind
    models: dict[str, ModelFacts] = field(default_factory=dict)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    uses_sqlalchemy: bool = False


@dataclass
class ProjectIndex:
    """Facts for every module of the run, plus the project-wide resolution of them."""

    modules: dict[str, ModuleFacts] = field(default_factory=dict)
    objects: dict[str, ObjectKind] = field(default_factory=dict)
    models: dict[str, ModelFacts] = field(default_factory=dict)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    #: bound MetaData objects and declarative bases (1.x ``bind=``) → the engine's name
    metadata_binds: dict[str, str] = field(default_factory=dict)
    #: filled between the stages: functions that become async (``AsyncPlan``)
    async_plan: Any = None

    def kind_of(self, qualname: str | None) -> ObjectKind | None:
        if qualname is None:
            return None
        return self.objects.get(self.resolve_alias(qualname))

    def resolve_alias(self, qualname: str) -> str:
        """Follow re-exports (``from .db import Session`` in a package ``__init__``)."""
        seen: set[str] = set()
        while qualname not in seen:
            seen.add(qualname)
            module, _, attr = qualname.rpartition(".")
            facts = self.modules.get(module)
            if facts is None or attr not in facts.imports:
                return qualname
            qualname = facts.imports[attr]
        return qualname

    def model(self, qualname: str | None) -> ModelFacts | None:
        if qualname is None:
            return None
        return self.models.get(self.resolve_alias(qualname))

    def model_by_short_name(self, name: str) -> ModelFacts | None:
        matches = [m for q, m in self.models.items() if q.rsplit(".", 1)[-1] == name]
        return matches[0] if len(matches) == 1 else None
