from fastapi import Depends, FastAPI
from sqlalchemy import func, select, text

from . import models
from .database import engine, get_db
from .routers import projects, todos, users
from sqlalchemy.ext.asyncio import AsyncSession
from contextlib import asynccontextmanager


@asynccontextmanager
async def lifespan(app):
    async with engine.begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
    yield


app = FastAPI(title="Todo API", version="1.0", lifespan=lifespan)

app.include_router(users.router)
app.include_router(projects.router)
app.include_router(todos.router)


@app.get("/health")
async def health(db: AsyncSession = Depends(get_db)):
    await db.execute(text("SELECT 1"))
    return {"status": "ok", "users": await db.scalar(select(func.count()).select_from(select(models.User).subquery()))}
