from typing import List

from fastapi import APIRouter, Depends, HTTPException, Response

from .. import crud, models, presenters, schemas
from ..database import get_db
from ..deps import get_active_user, get_project_or_404
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["projects"])


@router.post("/users/{user_id}/projects/", response_model=schemas.Project, status_code=201)
async def create_project(
    project: schemas.ProjectCreate,
    db_user: models.User = Depends(get_active_user),
    db: AsyncSession = Depends(get_db),
):
    if await crud.get_project_by_name(db, db_user.id, project.name) is not None:
        raise HTTPException(status_code=409, detail="Project already exists")
    return await crud.create_project(db, project, owner_id=db_user.id)


@router.get("/users/{user_id}/projects/", response_model=List[schemas.Project])
async def list_projects(
    include_archived: bool = False,
    db_user: models.User = Depends(get_active_user),
    db: AsyncSession = Depends(get_db),
):
    return await crud.get_projects(db, db_user.id, include_archived=include_archived)


@router.get("/projects/{project_id}", response_model=schemas.ProjectDetail)
async def read_project(project: models.Project = Depends(get_project_or_404), db: AsyncSession = Depends(get_db)):
    return presenters.project_detail(project, await crud.project_progress(db, project.id))


@router.post("/projects/{project_id}/complete")
async def complete_project(project: models.Project = Depends(get_project_or_404), db: AsyncSession = Depends(get_db)):
    updated = await crud.complete_project_todos(db, project.id)
    return {"updated": updated, "progress": await crud.project_progress(db, project.id)}


@router.post("/projects/{project_id}/archive", response_model=schemas.Project)
async def archive_project(project: models.Project = Depends(get_project_or_404), db: AsyncSession = Depends(get_db)):
    return await crud.archive_project(db, project)


@router.delete("/projects/{project_id}", status_code=204)
async def delete_project(project: models.Project = Depends(get_project_or_404), db: AsyncSession = Depends(get_db)):
    await crud.delete_project(db, project)
    return Response(status_code=204)
