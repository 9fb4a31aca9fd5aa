from typing import List

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy.orm import Session

from .. import crud, models, presenters, schemas
from ..database import get_db
from ..deps import get_active_user

router = APIRouter(tags=["users"])


@router.post("/users/", response_model=schemas.User, status_code=201)
def create_user(user: schemas.UserCreate, db: Session = Depends(get_db)):
    db_user = crud.get_user_by_email(db, email=user.email)
    if db_user:
        raise HTTPException(status_code=400, detail="Email already registered")
    return crud.create_user(db=db, user=user)


@router.get("/users/", response_model=List[schemas.User])
def read_users(skip: int = 0, limit: int = 100, active_only: bool = False, db: Session = Depends(get_db)):
    return crud.get_users(db, skip=skip, limit=limit, active_only=active_only)


@router.get("/users/{user_id}", response_model=schemas.UserDetail)
def read_user(user_id: int, db: Session = Depends(get_db)):
    db_user = crud.get_user(db, user_id=user_id)
    if db_user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return presenters.user_detail(db_user)


@router.delete("/users/{user_id}", response_model=schemas.User)
def deactivate_user(db_user: models.User = Depends(get_active_user), db: Session = Depends(get_db)):
    return crud.deactivate_user(db, db_user)


@router.get("/users/{user_id}/stats", response_model=schemas.UserStats)
def user_stats(db_user: models.User = Depends(get_active_user), db: Session = Depends(get_db)):
    return crud.user_stats(db, db_user.id)


@router.delete("/users/{user_id}/todos/completed")
def purge_completed(db_user: models.User = Depends(get_active_user), db: Session = Depends(get_db)):
    deleted = crud.delete_completed_todos(db, db_user.id)
    return {"deleted": deleted, "remaining": len(crud.get_todos(db, owner_id=db_user.id))}
