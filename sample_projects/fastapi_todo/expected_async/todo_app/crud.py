from datetime import date, datetime

from sqlalchemy import delete, select, update, func
from sqlalchemy.orm import joinedload

from . import models, schemas
from sqlalchemy.ext.asyncio import AsyncSession


def fake_hash_password(password: str) -> str:
    return "notreallyhashed" + password[::-1]


# --- users -----------------------------------------------------------------


async def get_user(db: AsyncSession, user_id: int):
    return (await db.scalars(select(models.User).where(models.User.id == user_id).limit(1))).first()


async def get_user_by_email(db: AsyncSession, email: str):
    return (await db.scalars(select(models.User).where(models.User.email == email).limit(1))).first()


async def get_users(db: AsyncSession, skip: int = 0, limit: int = 100, active_only: bool = False):
    query = select(models.User)
    if active_only:
        query = query.where(models.User.is_active == True)  # noqa: E712
    return (await db.scalars(query.order_by(models.User.id).offset(skip).limit(limit))).all()


async def create_user(db: AsyncSession, user: schemas.UserCreate):
    db_user = models.User(
        email=user.email,
        full_name=user.full_name,
        hashed_password=fake_hash_password(user.password),
        projects=[],
        todos=[],
    )
    db.add(db_user)
    await db.commit()
    await db.refresh(db_user)
    return db_user


async def deactivate_user(db: AsyncSession, db_user: models.User):
    db_user.is_active = False
    await db.commit()
    await db.refresh(db_user)
    return db_user


# --- projects --------------------------------------------------------------


async def get_project(db: AsyncSession, project_id: int):
    return await db.get(models.Project, project_id)


async def get_project_by_name(db: AsyncSession, owner_id: int, name: str):
    return (await db.scalars(select(models.Project).filter_by(owner_id=owner_id, name=name))).one_or_none()


async def get_projects(db: AsyncSession, owner_id: int, include_archived: bool = False):
    query = select(models.Project).where(models.Project.owner_id == owner_id)
    if not include_archived:
        query = query.where(models.Project.archived == False)  # noqa: E712
    return (await db.scalars(query.order_by(models.Project.id))).all()


async def create_project(db: AsyncSession, project: schemas.ProjectCreate, owner_id: int):
    db_project = models.Project(**project.model_dump(), owner_id=owner_id)
    db.add(db_project)
    await db.commit()
    await db.refresh(db_project)
    return db_project


async def archive_project(db: AsyncSession, db_project: models.Project):
    db_project.archived = True
    await db.commit()
    await db.refresh(db_project)
    return db_project


async def delete_project(db: AsyncSession, db_project: models.Project):
    await db.delete(db_project)
    await db.commit()


async def complete_project_todos(db: AsyncSession, project_id: int):
    updated = (
        (await db.execute(update(models.Todo)
        .where(models.Todo.project_id == project_id, models.Todo.done == False).values({models.Todo.done: True, models.Todo.completed_at: datetime.utcnow()}).execution_options(synchronize_session="fetch")))  # noqa: E712
        .rowcount
    )
    await db.commit()
    return updated


async def project_progress(db: AsyncSession, project_id: int):
    total = await db.scalar(select(func.count()).select_from(select(models.Todo).where(models.Todo.project_id == project_id).subquery()))
    done = await (
        db.scalar(select(func.count(models.Todo.id))
        .where(models.Todo.project_id == project_id, models.Todo.done == True))
    )
    percent = int(done * 100 / total) if total else 0
    return {"done": done, "total": total, "percent": percent}


# --- tags ------------------------------------------------------------------


async def get_or_create_tags(db: AsyncSession, names):
    tags = []
    for name in names:
        name = name.strip().lower()
        if not name or name in [t.name for t in tags]:
            continue
        tag = (await db.scalars(select(models.Tag).where(models.Tag.name == name).limit(1))).first()
        if tag is None:
            tag = models.Tag(name=name, todos=[])
            db.add(tag)
        tags.append(tag)
    return tags


async def tag_counts(db: AsyncSession, owner_id: int = None, limit: int = 20):
    query = (
        select(models.Tag.name, func.count(models.Todo.id).label("count"))
        .join(models.Tag.todos)
    )
    if owner_id is not None:
        query = query.where(models.Todo.owner_id == owner_id)
    rows = (
        (await db.execute(query.group_by(models.Tag.id, models.Tag.name)
        .order_by(func.count(models.Todo.id).desc(), models.Tag.name)
        .limit(limit)))
        .all()
    )
    return [{"name": name, "count": count} for name, count in rows]


# --- todos -----------------------------------------------------------------


async def get_todo(db: AsyncSession, todo_id: int):
    return (await db.scalars(select(models.Todo).where(models.Todo.id == todo_id).limit(1))).first()


async def get_todos(
    db: AsyncSession,
    owner_id: int = None,
    done: bool = None,
    project_id: int = None,
    tag: str = None,
    search: str = None,
    due_before: date = None,
    skip: int = 0,
    limit: int = 100,
):
    query = select(models.Todo)
    if owner_id is not None:
        query = query.where(models.Todo.owner_id == owner_id)
    if done is not None:
        query = query.where(models.Todo.done == done)
    if project_id is not None:
        query = query.filter_by(project_id=project_id)
    if tag:
        query = query.join(models.Todo.tags).where(models.Tag.name == tag.lower())
    if search:
        query = query.where(models.Todo.title.ilike("%" + search + "%"))
    if due_before is not None:
        query = query.where(models.Todo.due_date < due_before)
    return (
        (await db.scalars(query.order_by(models.Todo.priority, models.Todo.id).offset(skip).limit(limit).options(
            joinedload(models.Todo.owner),
            joinedload(models.Todo.project),
        ))).unique().all()
    )


async def create_user_todo(db: AsyncSession, todo: schemas.TodoCreate, user_id: int):
    db_todo = models.Todo(**todo.model_dump(exclude={"tags"}), owner_id=user_id)
    db_todo.tags = await get_or_create_tags(db, todo.tags)
    db.add(db_todo)
    await db.commit()
    await db.refresh(db_todo)
    return db_todo


async def update_todo(db: AsyncSession, db_todo: models.Todo, changes: schemas.TodoUpdate):
    data = changes.model_dump(exclude_unset=True)
    tags = data.pop("tags", None)
    if tags is not None:
        db_todo.tags = await get_or_create_tags(db, tags)
    if "done" in data and data["done"] != db_todo.done:
        db_todo.completed_at = datetime.utcnow() if data["done"] else None
    for key, value in data.items():
        setattr(db_todo, key, value)
    await db.commit()
    await db.refresh(db_todo)
    return db_todo


async def delete_todo(db: AsyncSession, db_todo: models.Todo):
    await db.delete(db_todo)
    await db.commit()


async def delete_completed_todos(db: AsyncSession, owner_id: int):
    deleted = (
        (await db.execute(delete(models.Todo)
        .where(models.Todo.owner_id == owner_id, models.Todo.done == True).execution_options(synchronize_session="fetch")))  # noqa: E712
        .rowcount
    )
    await db.commit()
    return deleted


async def user_stats(db: AsyncSession, user_id: int, today: date = None):
    today = today or date.today()
    base = select(models.Todo).where(models.Todo.owner_id == user_id)
    total = await db.scalar(select(func.count()).select_from(base.subquery()))
    done = await db.scalar(select(func.count()).select_from(base.where(models.Todo.done == True).subquery()))  # noqa: E712
    overdue = await db.scalar(select(func.count()).select_from(base.where(
        models.Todo.done == False, models.Todo.due_date < today  # noqa: E712
    ).subquery()))
    by_priority = dict(
        (await db.execute(base.with_only_columns(models.Todo.priority, func.count(models.Todo.id))
        .where(models.Todo.done == False)  # noqa: E712
        .group_by(models.Todo.priority)))
        .all()
    )
    return {
        "total": total,
        "done": done,
        "open": total - done,
        "overdue": overdue,
        "by_priority": {str(p): by_priority.get(p, 0) for p in (1, 2, 3)},
        "top_tags": await tag_counts(db, owner_id=user_id, limit=3),
    }
