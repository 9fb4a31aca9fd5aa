from fastapi import Depends, FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from . import models
from .database import engine, get_db
from .routers import projects, todos, users

models.Base.metadata.create_all(bind=engine)

app = FastAPI(title="Todo API", version="1.0")

app.include_router(users.router)
app.include_router(projects.router)
app.include_router(todos.router)


@app.get("/health")
def health(db: Session = Depends(get_db)):
    db.execute(text("SELECT 1"))
    return {"status": "ok", "users": db.scalar(select(func.count()).select_from(select(models.User).subquery()))}
