from datetime import date
from typing import List, Optional

from fastapi import APIRouter, Depends, HTTPException, Response

from .. import crud, models, presenters, schemas
from ..database import get_db
from ..deps import get_active_user, get_todo_or_404
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["todos"])


async def check_project(db: AsyncSession, project_id: Optional[int], owner: models.User):
    if project_id is None:
        return
    project = await crud.get_project(db, project_id)
    if project is None or project.owner_id != owner.id:
        raise HTTPException(status_code=400, detail="Unknown project")
    if project.archived:
        raise HTTPException(status_code=400, detail="Project is archived")


@router.post("/users/{user_id}/todos/", response_model=schemas.Todo, status_code=201)
async def create_todo_for_user(
    todo: schemas.TodoCreate,
    db_user: models.User = Depends(get_active_user),
    db: AsyncSession = Depends(get_db),
):
    await check_project(db, todo.project_id, db_user)
    return await crud.create_user_todo(db=db, todo=todo, user_id=db_user.id)


@router.get("/users/{user_id}/todos/overdue", response_model=List[schemas.TodoWithOwner])
async def overdue_todos(db_user: models.User = Depends(get_active_user), db: AsyncSession = Depends(get_db)):
    todos = await crud.get_todos(db, owner_id=db_user.id, done=False, due_before=date.today())
    return [presenters.todo_with_owner(t) for t in todos]


@router.get("/todos/", response_model=List[schemas.TodoWithOwner])
async def read_todos(
    owner_id: Optional[int] = None,
    done: Optional[bool] = None,
    project_id: Optional[int] = None,
    tag: Optional[str] = None,
    q: Optional[str] = None,
    skip: int = 0,
    limit: int = 100,
    db: AsyncSession = Depends(get_db),
):
    todos = await crud.get_todos(
        db,
        owner_id=owner_id,
        done=done,
        project_id=project_id,
        tag=tag,
        search=q,
        skip=skip,
        limit=limit,
    )
    return [presenters.todo_with_owner(t) for t in todos]


@router.get("/todos/{todo_id}", response_model=schemas.TodoWithOwner)
def read_todo(todo: models.Todo = Depends(get_todo_or_404)):
    return presenters.todo_with_owner(todo)


@router.patch("/todos/{todo_id}", response_model=schemas.Todo)
async def update_todo(
    changes: schemas.TodoUpdate,
    todo: models.Todo = Depends(get_todo_or_404),
    db: AsyncSession = Depends(get_db),
):
    if changes.project_id is not None:
        await check_project(db, changes.project_id, todo.owner)
    return await crud.update_todo(db, todo, changes)


@router.delete("/todos/{todo_id}", status_code=204)
async def delete_todo(todo: models.Todo = Depends(get_todo_or_404), db: AsyncSession = Depends(get_db)):
    await crud.delete_todo(db, todo)
    return Response(status_code=204)


@router.get("/tags/", response_model=List[schemas.TagCount])
async def read_tags(limit: int = 20, db: AsyncSession = Depends(get_db)):
    return await crud.tag_counts(db, limit=limit)
