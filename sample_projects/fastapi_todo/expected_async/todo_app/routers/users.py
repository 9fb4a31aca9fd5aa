from typing import List

from fastapi import APIRouter, Depends, HTTPException

from .. import crud, models, presenters, schemas
from ..database import get_db
from ..deps import get_active_user
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["users"])


@router.post("/users/", response_model=schemas.User, status_code=201)
async def create_user(user: schemas.UserCreate, db: AsyncSession = Depends(get_db)):
    db_user = await crud.get_user_by_email(db, email=user.email)
    if db_user:
        raise HTTPException(status_code=400, detail="Email already registered")
    return await crud.create_user(db=db, user=user)


@router.get("/users/", response_model=List[schemas.User])
async def read_users(skip: int = 0, limit: int = 100, active_only: bool = False, db: AsyncSession = Depends(get_db)):
    return await crud.get_users(db, skip=skip, limit=limit, active_only=active_only)


@router.get("/users/{user_id}", response_model=schemas.UserDetail)
async def read_user(user_id: int, db: AsyncSession = Depends(get_db)):
    db_user = await crud.get_user(db, user_id=user_id)
    if db_user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return presenters.user_detail(db_user)


@router.delete("/users/{user_id}", response_model=schemas.User)
async def deactivate_user(db_user: models.User = Depends(get_active_user), db: AsyncSession = Depends(get_db)):
    return await crud.deactivate_user(db, db_user)


@router.get("/users/{user_id}/stats", response_model=schemas.UserStats)
async def user_stats(db_user: models.User = Depends(get_active_user), db: AsyncSession = Depends(get_db)):
    return await crud.user_stats(db, db_user.id)


@router.delete("/users/{user_id}/todos/completed")
async def purge_completed(db_user: models.User = Depends(get_active_user), db: AsyncSession = Depends(get_db)):
    deleted = await crud.delete_completed_todos(db, db_user.id)
    return {"deleted": deleted, "remaining": len(await crud.get_todos(db, owner_id=db_user.id))}
