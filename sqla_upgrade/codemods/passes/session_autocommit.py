"""Flag ``autocommit=True`` sessions, a mode SQLAlchemy 2.0 removed.

Before::

    Session = sessionmaker(bind=engine, autocommit=True)

After::

    # TODO(sqla-upgrade): autocommit=True sessions were removed in 2.0: ...
    Session = sessionmaker(bind=engine, autocommit=True)

Safety: there is no equivalent switch; every unit of work must now be committed or run
in ``with session.begin():``. The code is left as it is and marked for review.
``autocommit=False`` is the 2.0 behaviour and stays valid, so it is not touched.
"""

from __future__ import annotations

from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import BaseMetadataProvider, PositionProvider, QualifiedNameProvider

from sqla_upgrade.codemods.base import Pass
from sqla_upgrade.codemods.names import qualified_names

SESSION_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.session.sessionmaker",
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.orm.create_session",
    }
)


class SessionAutocommitPass(Pass):
    """sessionmaker(autocommit=True) / Session(autocommit=True) → TODO for review."""

    name = "session-autocommit"
    triggers = (b"autocommit",)
    METADATA_DEPENDENCIES: ClassVar[tuple[type[BaseMetadataProvider[Any]], ...]] = (
        PositionProvider,
        QualifiedNameProvider,
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not qualified_names(self, node.func) & SESSION_FACTORIES:
            return
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "autocommit":
                if isinstance(arg.value, cst.Name) and arg.value.value == "False":
                    return
                self.todo(
                    node,
                    "autocommit=True sessions were removed in 2.0: drop it and commit explicitly "
                    "or wrap work in `with session.begin():`",
                )
