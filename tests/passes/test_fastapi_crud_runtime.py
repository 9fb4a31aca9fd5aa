"""A full-stack-fastapi-postgresql style project runs the same after ``--target async``.

The legacy project has the shape of that template: an ``@as_declarative()`` base, a
generic ``CRUDBase[ModelType]`` holding its model in ``self.model`` (``get``,
``get_multi``, ``update`` through ``jsonable_encoder(db_obj)``, ``remove``), pydantic
response schemas reading relationships of what the CRUD objects return (as FastAPI's
``response_model`` does, outside the project's code). The legacy code runs on a
synchronous ``Session``, the migrated code on an ``AsyncSession`` (aiosqlite); both must
give the same serialized responses: no ``MissingGreenlet`` when a schema reads
``item.owner``, no ``RecursionError`` when ``update()`` encodes an object whose
relationships are now loaded eagerly (``Item.owner`` ↔ ``User.items``).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from sqla_upgrade.api import migrate_project

pytest.importorskip("fastapi")

LEGACY = {
    "fsapp.base_class": """
        from typing import Any

        from sqlalchemy.ext.declarative import as_declarative, declared_attr


        @as_declarative()
        class Base:
            id: Any
            __name__: str

            @declared_attr
            def __tablename__(cls) -> str:
                return "fc_" + cls.__name__.lower()
    """,
    "fsapp.models": """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.orm import relationship

        from fsapp.base_class import Base


        class User(Base):
            id = Column(Integer, primary_key=True)
            email = Column(String(50))
            full_name = Column(String(50))
            items = relationship("Item", back_populates="owner", order_by="Item.id")


        class Item(Base):
            id = Column(Integer, primary_key=True)
            title = Column(String(50))
            owner_id = Column(Integer, ForeignKey("fc_user.id"))
            owner = relationship("User", back_populates="items")
    """,
    "fsapp.schemas": """
        from typing import List, Optional

        from pydantic import BaseModel, ConfigDict


        class UserOut(BaseModel):
            model_config = ConfigDict(from_attributes=True)
            id: int
            email: str
            full_name: Optional[str] = None


        class ItemRef(BaseModel):
            model_config = ConfigDict(from_attributes=True)
            id: int
            title: str


        class ItemOut(ItemRef):
            owner: UserOut


        class UserWithItems(UserOut):
            items: List[ItemRef] = []


        class ItemUpdate(BaseModel):
            title: Optional[str] = None
    """,
    "fsapp.crud": """
        from typing import Any, Dict, Generic, List, Optional, Type, TypeVar, Union

        from fastapi.encoders import jsonable_encoder
        from pydantic import BaseModel
        from sqlalchemy.orm import Session

        from fsapp.base_class import Base
        from fsapp.models import Item, User

        ModelType = TypeVar("ModelType", bound=Base)
        UpdateSchemaType = TypeVar("UpdateSchemaType", bound=BaseModel)


        class CRUDBase(Generic[ModelType, UpdateSchemaType]):
            def __init__(self, model: Type[ModelType]):
                self.model = model

            def get(self, db: Session, id: Any) -> Optional[ModelType]:
                return db.query(self.model).filter(self.model.id == id).first()

            def get_multi(self, db: Session, *, skip: int = 0, limit: int = 100) -> List[ModelType]:
                return db.query(self.model).order_by(self.model.id).offset(skip).limit(limit).all()

            def update(
                self, db: Session, *, db_obj: ModelType, obj_in: Union[UpdateSchemaType, Dict[str, Any]]
            ) -> ModelType:
                obj_data = jsonable_encoder(db_obj)
                if isinstance(obj_in, dict):
                    update_data = obj_in
                else:
                    update_data = obj_in.model_dump(exclude_unset=True)
                for field in obj_data:
                    if field in update_data:
                        setattr(db_obj, field, update_data[field])
                db.add(db_obj)
                db.commit()
                db.refresh(db_obj)
                return db_obj

            def remove(self, db: Session, *, id: int) -> ModelType:
                obj = db.query(self.model).get(id)
                db.delete(obj)
                db.commit()
                return obj


        item = CRUDBase(Item)
        user = CRUDBase(User)
    """,
    "fsapp.endpoints": """
        from sqlalchemy.orm import Session

        from fsapp import crud, schemas


        def read_items(db: Session, skip: int = 0, limit: int = 100):
            return crud.item.get_multi(db, skip=skip, limit=limit)


        def update_item(db: Session, user_id: int, id: int, item_in: schemas.ItemUpdate):
            current_user = crud.user.get(db, id=user_id)  # deps.get_current_user
            item = crud.item.get(db=db, id=id)
            if item.owner_id != current_user.id:
                raise PermissionError(id)
            return crud.item.update(db=db, db_obj=item, obj_in=item_in)


        def delete_item(db: Session, id: int):
            return crud.item.remove(db=db, id=id)


        def read_user(db: Session, user_id: int):
            return crud.user.get(db, id=user_id)
    """,
}

# what FastAPI does with each endpoint's result: its response_model, from attributes
RESPONSES = [
    ("read_items", (), "ItemOut"),
    ("update_item", (1, 2, {"title": "renamed"}), "ItemOut"),
    ("read_user", (1,), "UserWithItems"),
    ("delete_item", (1,), "ItemRef"),
    ("read_items", (), "ItemOut"),
    ("read_user", (1,), "UserWithItems"),
]


def _sources(code: dict[str, str]) -> dict[str, str]:
    return {name: textwrap.dedent(text).lstrip("\n") for name, text in code.items()}


def _load(root: Path, sources: dict[str, str]) -> dict[str, types.ModuleType]:
    for name, code in sources.items():
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(code)
    sys.path.insert(0, str(root))
    try:
        return {name: importlib.import_module(name) for name in sources}
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "fsapp" or m.startswith("fsapp.")]:
            del sys.modules[name]


def _seed(models: types.ModuleType) -> list[Any]:
    ann = models.User(id=1, email="ann@example.com", full_name="Ann")
    bob = models.User(id=2, email="bob@example.com")
    return [
        models.Item(id=1, title="lamp", owner=ann),
        models.Item(id=2, title="chair", owner=ann),
        models.Item(id=3, title="desk", owner=bob),
    ]


def _serialize(schemas: types.ModuleType, schema: str, result: Any) -> Any:
    model = getattr(schemas, schema)
    if isinstance(result, list):
        return [model.model_validate(r).model_dump() for r in result]
    return model.model_validate(result).model_dump()


def _arguments(schemas: types.ModuleType, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(schemas.ItemUpdate(**a) if isinstance(a, dict) else a for a in args)


def test_migrated_crud_project_answers_as_legacy(tmp_path: Path) -> None:
    sources = _sources(LEGACY)
    migrated = {name: m.code for name, m in migrate_project(sources, target="async").items()}
    assert "jsonable_encoder(db_obj, exclude={" in migrated["fsapp.crud"]
    assert "select(self.model)" in migrated["fsapp.crud"]
    assert 'lazy="selectin"' in migrated["fsapp.models"]
    legacy = _load(tmp_path / "legacy", sources)
    new = _load(tmp_path / "migrated", migrated)

    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    legacy["fsapp.base_class"].Base.metadata.create_all(engine)
    expected = []
    with Session(engine) as session:
        session.add_all(_seed(legacy["fsapp.models"]))
        session.commit()
    for name, args, schema in RESPONSES:
        with Session(engine) as session:  # one session per request, as get_db gives
            endpoint = getattr(legacy["fsapp.endpoints"], name)
            result = endpoint(session, *_arguments(legacy["fsapp.schemas"], args))
            expected.append(_serialize(legacy["fsapp.schemas"], schema, result))
    engine.dispose()

    async def run() -> list[Any]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(new["fsapp.base_class"].Base.metadata.create_all)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            session.add_all(_seed(new["fsapp.models"]))
            await session.commit()
        actual = []
        for name, args, schema in RESPONSES:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                endpoint = getattr(new["fsapp.endpoints"], name)
                result = await endpoint(session, *_arguments(new["fsapp.schemas"], args))
                actual.append(_serialize(new["fsapp.schemas"], schema, result))
        await engine.dispose()
        return actual

    assert asyncio.run(run()) == expected
