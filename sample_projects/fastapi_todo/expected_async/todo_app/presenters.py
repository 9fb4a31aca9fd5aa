"""Turn ORM objects into response payloads (reads relationships)."""
from . import schemas


def todo_with_owner(todo):
    data = schemas.Todo.model_validate(todo).model_dump()
    data["owner_email"] = todo.owner.email
    data["project_name"] = todo.project.name if todo.project is not None else None
    return data


def project_detail(project, progress):
    return schemas.ProjectDetail(
        id=project.id,
        name=project.name,
        description=project.description,
        owner_id=project.owner_id,
        archived=project.archived,
        owner_email=project.owner.email,
        todos=[schemas.Todo.model_validate(t) for t in project.todos],
        progress=schemas.Progress(**progress),
    )


def user_detail(user):
    open_todos = [t for t in user.todos if not t.done]
    return schemas.UserDetail(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        is_active=user.is_active,
        todo_count=len(user.todos),
        open_count=len(open_todos),
        projects=[schemas.Project.model_validate(p) for p in user.projects if not p.archived],
    )
