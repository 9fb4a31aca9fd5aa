from fastapi import Depends, HTTPException

from . import crud
from .database import get_db
from sqlalchemy.ext.asyncio import AsyncSession


async def get_active_user(user_id: int, db: AsyncSession = Depends(get_db)):
    db_user = await crud.get_user(db, user_id=user_id)
    if db_user is None:
        raise HTTPException(status_code=404, detail="User not found")
    if not db_user.is_active:
        raise HTTPException(status_code=400, detail="Inactive user")
    return db_user


async def get_project_or_404(project_id: int, db: AsyncSession = Depends(get_db)):
    db_project = await crud.get_project(db, project_id)
    if db_project is None:
        raise HTTPException(status_code=404, detail="Project not found")
    return db_project


async def get_todo_or_404(todo_id: int, db: AsyncSession = Depends(get_db)):
    db_todo = await crud.get_todo(db, todo_id)
    if db_todo is None:
        raise HTTPException(status_code=404, detail="Todo not found")
    return db_todo
