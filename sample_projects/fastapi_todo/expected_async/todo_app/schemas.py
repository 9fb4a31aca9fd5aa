from datetime import date
from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field


class Tag(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str


class TodoBase(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: Optional[str] = None
    priority: int = Field(default=2, ge=1, le=3)
    due_date: Optional[date] = None


class TodoCreate(TodoBase):
    project_id: Optional[int] = None
    tags: List[str] = []


class TodoUpdate(BaseModel):
    title: Optional[str] = Field(default=None, min_length=1, max_length=200)
    description: Optional[str] = None
    priority: Optional[int] = Field(default=None, ge=1, le=3)
    due_date: Optional[date] = None
    done: Optional[bool] = None
    project_id: Optional[int] = None
    tags: Optional[List[str]] = None


class Todo(TodoBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    done: bool
    owner_id: int
    project_id: Optional[int] = None
    tags: List[Tag] = []


class TodoWithOwner(Todo):
    owner_email: str
    project_name: Optional[str] = None


class ProjectBase(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: Optional[str] = None


class ProjectCreate(ProjectBase):
    pass


class Project(ProjectBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    archived: bool


class Progress(BaseModel):
    done: int
    total: int
    percent: int


class ProjectDetail(Project):
    owner_email: str
    todos: List[Todo] = []
    progress: Progress


class UserBase(BaseModel):
    email: str = Field(min_length=3, max_length=255)
    full_name: Optional[str] = None


class UserCreate(UserBase):
    password: str = Field(min_length=6)


class User(UserBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    is_active: bool


class UserDetail(User):
    todo_count: int
    open_count: int
    projects: List[Project] = []


class TagCount(BaseModel):
    name: str
    count: int


class UserStats(BaseModel):
    total: int
    done: int
    open: int
    overdue: int
    by_priority: dict
    top_tags: List[TagCount]
