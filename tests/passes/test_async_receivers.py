"""await: method calls whose receiver's class is known statically, across modules.

A module-level instance of a project class (``user = CRUDUser()``, bound once), reached
as ``crud.user`` or imported as ``user``, gives its methods however they are named
(``get``, ``create``...); so do a generic base written with its type arguments
(``CRUDBase[User]``) and a parameter annotated ``Annotated[Repo, Depends()]``,
``Optional[Repo]`` or ``Repo | None``. A method the index cannot resolve on a receiver of
a known class (defined only by a subclass, or under an ``if`` of the class body) gets a
TODO when a method of that name there became async. A method of a common name called on
a receiver of unknown type is never taken for a project method by its spelling.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqla_upgrade.api import migrate_project
from sqla_upgrade.codemods.index import IndexBuilder, ProjectIndex
from tests.harness import _dedent, check_project, check_transformed

MODELS = """
    from sqlalchemy import Column, Integer, String
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        email = Column(String)
"""

CRUD = """
    from app.models import User
    from sqlalchemy.orm import Session


    class CRUDUser:
        def get(self, db: Session, id: int):
            return db.get(User, id)

        def create(self, db: Session, email: str):
            obj = User(email=email)
            db.add(obj)
            db.commit()
            return obj


    user = CRUDUser()
"""

MIGRATED_CRUD = """
    from app.models import User
    from sqlalchemy.ext.asyncio import AsyncSession


    class CRUDUser:
        async def get(self, db: AsyncSession, id: int):
            return await db.get(User, id)

        async def create(self, db: AsyncSession, email: str):
            obj = User(email=email)
            db.add(obj)
            await db.commit()
            await db.refresh(obj)
            return obj


    user = CRUDUser()
"""


def test_methods_of_a_module_level_instance_are_awaited_in_other_modules() -> None:
    check_project(
        {
            "app.__init__": "",
            "app.models": MODELS,
            "app.crud": CRUD,
            "app.main": """
                from app import crud
                from app.crud import user as users
                from sqlalchemy.orm import Session


                def read_user(db: Session, user_id: int):
                    return crud.user.get(db, id=user_id) is not None


                def create_user(db: Session, email: str):
                    return users.create(db, email=email).id
            """,
        },
        {
            "app.crud": MIGRATED_CRUD,
            "app.main": """
                from app import crud
                from app.crud import user as users
                from sqlalchemy.ext.asyncio import AsyncSession


                async def read_user(db: AsyncSession, user_id: int):
                    return await crud.user.get(db, id=user_id) is not None


                async def create_user(db: AsyncSession, email: str):
                    return (await users.create(db, email=email)).id
            """,
        },
    )


def test_common_method_names_on_receivers_of_unknown_type_stay_unawaited() -> None:
    """``get``/``create`` of a parameter, a local of unknown type, or a module-level name
    bound to something else than a project instance: no await, no TODO."""
    views = """
        import json

        from app.crud import CRUDUser


        def lookup(cache, db, email):
            settings = json.loads("{}")
            factory = CRUDUser
            return cache.get(email), settings.get("x"), factory.create, db.create(email)
    """
    check_project(
        {"app.__init__": "", "app.models": MODELS, "app.crud": CRUD, "app.views": views},
        {"app.crud": MIGRATED_CRUD, "app.views": views},
    )


def _index(sources: dict[str, str]) -> ProjectIndex:
    builder = IndexBuilder()
    for name, code in sources.items():
        path = name.replace(".", "/") + ".py"
        package = name.endswith(".__init__")
        builder.add(_dedent(code).encode(), name.removesuffix(".__init__"), path, package)
    return builder.build()


def test_only_names_bound_once_to_a_project_class_are_instances() -> None:
    index = _index(
        {
            "app.crud": """
                import os
                from collections import OrderedDict


                class CRUDUser:
                    pass


                class Fake(CRUDUser):
                    pass


                user = CRUDUser()
                twice = CRUDUser()
                twice = Fake()
                changed = CRUDUser()
                other = OrderedDict()
                looped = CRUDUser()
                for looped in range(2):
                    pass
                if os.environ.get("FAKE"):
                    maybe = Fake()
                else:
                    maybe = CRUDUser()


                def reset():
                    global changed
                    changed = None


                def local():
                    user = Fake()
                    return user
            """,
            "app.__init__": "from app.crud import user as default_user\n",
        }
    )
    assert index.instances == {"app.crud.user": "app.crud.CRUDUser"}
    assert index.instance_class("app.default_user") == "app.crud.CRUDUser"


def test_methods_inherited_from_a_subscripted_generic_base_are_awaited() -> None:
    check_transformed(
        """
        from typing import Generic, TypeVar

        from sqlalchemy import Column, Integer, String
        from sqlalchemy.orm import Session, declarative_base

        Base = declarative_base()
        ModelType = TypeVar("ModelType")


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            email = Column(String)


        class CRUDBase(Generic[ModelType]):
            def save(self, db: Session, obj: ModelType) -> ModelType:
                db.add(obj)
                db.commit()
                return obj


        class CRUDUser(CRUDBase[User]):
            def save_lower(self, db: Session, obj: User) -> User:
                obj.email = obj.email.lower()
                return super().save(db, obj)

            def rename(self, db: Session, obj: User, email: str) -> int:
                obj.email = email
                return self.save(db, obj).id


        def rename_through_an_instance(db: Session, obj: User) -> int:
            return CRUDUser().rename(db, obj, "x")
        """,
        """
        from typing import Generic, TypeVar

        from sqlalchemy import Column, Integer, String
        from sqlalchemy.orm import declarative_base
        from sqlalchemy.ext.asyncio import AsyncSession

        Base = declarative_base()
        ModelType = TypeVar("ModelType")


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            email = Column(String)


        class CRUDBase(Generic[ModelType]):
            async def save(self, db: AsyncSession, obj: ModelType) -> ModelType:
                db.add(obj)
                await db.commit()
                return obj


        class CRUDUser(CRUDBase[User]):
            async def save_lower(self, db: AsyncSession, obj: User) -> User:
                obj.email = obj.email.lower()
                return await super().save(db, obj)

            async def rename(self, db: AsyncSession, obj: User, email: str) -> int:
                obj.email = email
                return (await self.save(db, obj)).id


        async def rename_through_an_instance(db: AsyncSession, obj: User) -> int:
            return await CRUDUser().rename(db, obj, "x")
        """,
        target="async",
    )


def test_a_generic_base_is_no_model_base() -> None:
    index = _index(
        {
            "app.crud": """
                from typing import Generic, TypeVar

                T = TypeVar("T")


                class CRUDBase(Generic[T]):
                    pass


                class CRUDUser(CRUDBase[int]):
                    pass
            """
        }
    )
    assert index.modules["app.crud"].models["app.crud.CRUDUser"].bases == ["app.crud.CRUDBase"]
    assert index.modules["app.crud"].models["app.crud.CRUDBase"].bases == ["typing.Generic"]
    assert index.models == {}


REPOSITORY = """
    from sqlalchemy import text
    from sqlalchemy.orm import Session


    class UserRepository:
        def __init__(self, db: Session):
            self.db = db

        def add(self, email: str) -> int:
            self.db.execute(text("INSERT"))
            return 1
"""


def test_annotated_and_optional_parameters_give_their_class() -> None:
    check_project(
        {
            "app.__init__": "",
            "app.repository": REPOSITORY,
            "app.views": """
                from typing import Annotated, Optional

                from app.repository import UserRepository
                from fastapi import Depends


                def annotated(email: str, repo: Annotated[UserRepository, Depends()]):
                    return repo.add(email)


                def optional(email: str, repo: Optional[UserRepository], other: "UserRepository | None"):
                    return repo.add(email)


                def union(email: str, repo: UserRepository | None = None):
                    return repo.add(email)


                def annotated_other(email: str, repo: Annotated[dict, UserRepository]):
                    return repo.add(email)
            """,
        },
        {
            "app.repository": """
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import AsyncSession


                class UserRepository:
                    def __init__(self, db: AsyncSession):
                        self.db = db

                    async def add(self, email: str) -> int:
                        await self.db.execute(text("INSERT"))
                        return 1
            """,
            "app.views": """
                from typing import Annotated, Optional

                from app.repository import UserRepository
                from fastapi import Depends


                async def annotated(email: str, repo: Annotated[UserRepository, Depends()]):
                    return await repo.add(email)


                async def optional(email: str, repo: Optional[UserRepository], other: "UserRepository | None"):
                    return await repo.add(email)


                async def union(email: str, repo: UserRepository | None = None):
                    return await repo.add(email)


                def annotated_other(email: str, repo: Annotated[dict, UserRepository]):
                    return repo.add(email)
            """,
        },
    )


def test_an_unresolved_method_of_a_known_class_that_may_be_async_is_todo() -> None:
    """Defined only by a subclass, or under an ``if`` of the class body: which method
    the call reaches is not known statically, so it gets a TODO rather than silence."""
    maybe = "may call {}, which is async now, but which method it calls cannot be told"
    check_project(
        {
            "app.__init__": "",
            "app.repo": """
                import sys

                from sqlalchemy.orm import Session


                class Repo:
                    def __init__(self, db: Session):
                        self.db = db


                class SqlRepo(Repo):
                    def add(self, obj):
                        self.db.add(obj)
                        self.db.commit()


                class Store:
                    if sys.version_info >= (3, 8):
                        def save(self, db: Session, obj):
                            db.add(obj)
                            db.commit()


                store = Store()
            """,
            "app.views": """
                from app.repo import Repo, store


                def handler(repo: Repo, db, obj, other):
                    repo.add(obj)
                    store.save(db, obj)
                    other.save(db, obj)
            """,
        },
        {
            "app.views": f"""
                from app.repo import Repo, store


                def handler(repo: Repo, db, obj, other):
                    # TODO(sqla-upgrade): repo.add() {maybe.format("app.repo.SqlRepo.add")} statically: await it where it does
                    repo.add(obj)
                    # TODO(sqla-upgrade): store.save() {maybe.format("app.repo.Store.save")} statically: await it where it does
                    store.save(db, obj)
                    other.save(db, obj)
            """,
        },
        todos=[maybe.format("app.repo.SqlRepo.add"), maybe.format("app.repo.Store.save")],
    )


# -- the migrated app answers as the original did ---------------------------------------------

APP_MODELS = """
    from sqlalchemy import Column, Integer, String, create_engine
    from sqlalchemy.orm import declarative_base, sessionmaker

    engine = create_engine("sqlite:///" + __import__("os").environ["APP_DB"])
    SessionLocal = sessionmaker(bind=engine)
    Base = declarative_base()


    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        email = Column(String)
"""

APP_CRUD = """
    from typing import Generic, TypeVar

    from app.models import User
    from sqlalchemy.orm import Session

    ModelType = TypeVar("ModelType")


    class CRUDBase(Generic[ModelType]):
        def add(self, db: Session, obj: ModelType) -> ModelType:
            db.add(obj)
            db.commit()
            return obj


    class CRUDUser(CRUDBase[User]):
        def get(self, db: Session, id: int):
            return db.query(User).filter(User.id == id).first()

        def create(self, db: Session, email: str):
            return self.add(db, User(email=email))


    user = CRUDUser()
"""

APP_MAIN = """
    from typing import Annotated

    from app import crud, models
    from app.crud import CRUDUser
    from fastapi import Depends, FastAPI
    from sqlalchemy.orm import Session

    app = FastAPI()


    def get_db():
        db = models.SessionLocal()
        try:
            yield db
        finally:
            db.close()


    @app.get("/users/{user_id}")
    def read_user(user_id: int, db: Session = Depends(get_db)):
        found = crud.user.get(db, id=user_id)
        return {"found": found is not None, "email": found.email if found else None}


    @app.post("/users/")
    def create_user(
        email: str, users: Annotated[CRUDUser, Depends()], db: Session = Depends(get_db)
    ):
        return {"id": users.create(db, email=email).id}
"""

DRIVE = """
    import asyncio
    import sys

    from app import models
    from app.main import app
    from fastapi.testclient import TestClient

    if hasattr(models.engine, "sync_engine"):
        async def create_schema():
            async with models.engine.begin() as connection:
                await connection.run_sync(models.Base.metadata.create_all)

        asyncio.run(create_schema())
    else:
        models.Base.metadata.create_all(models.engine)
    with TestClient(app) as client:
        print(client.get("/users/1").json())
        print(client.post("/users/?email=ann").json())
        print(client.get("/users/1").json())
"""


def test_the_migrated_fastapi_app_answers_as_the_original(tmp_path: Path) -> None:
    sources = {
        "app.__init__": "",
        "app.models": _dedent(APP_MODELS),
        "app.crud": _dedent(APP_CRUD),
        "app.main": _dedent(APP_MAIN),
    }
    migrated = {name: m.code for name, m in migrate_project(sources, target="async").items()}
    assert "await crud.user.get(db, id=user_id)" in migrated["app.main"]
    assert "(await users.create(db, email=email)).id" in migrated["app.main"]
    outputs = []
    for label, modules in (("legacy", sources), ("migrated", migrated)):
        root = tmp_path / label
        (root / "app").mkdir(parents=True)
        for name, code in modules.items():
            (root / (name.replace(".", "/") + ".py")).write_text(code)
        (root / "drive.py").write_text(_dedent(DRIVE))
        run = subprocess.run(
            [sys.executable, "-W", "error::RuntimeWarning", str(root / "drive.py")],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root), "APP_DB": str(root / "app.db")},
        )
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert (
        outputs[0]
        == outputs[1]
        == ("{'found': False, 'email': None}\n{'id': 1}\n{'found': True, 'email': 'ann'}\n")
    )
