"""Business logic shared by the views and the CLI."""

from sqlalchemy import func, or_
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import Comment, Label, Project, Task, User


def get_label(name):
    label = Label.query.filter_by(name=name).one_or_none()
    if label is None:
        label = Label(name=name)
        db.session.add(label)
    return label


def create_task(project, title, priority=1, assignee=None, labels=()):
    task = Task(title=title, priority=priority, project=project, assignee=assignee)
    db.session.add(task)
    task.labels = [get_label(name) for name in labels]
    db.session.commit()
    return task


def close_task(task_id):
    task = Task.query.get(task_id)
    if task is None:
        return None
    task.done = True
    db.session.commit()
    return task


def reassign(task, username):
    user = User.query.filter_by(username=username).first()
    if user is None:
        return False
    task.assignee = user
    db.session.commit()
    return True


def search_tasks(term):
    pattern = "%" + term + "%"
    return (
        Task.query.options(joinedload(Task.project))
        .filter(or_(Task.title.ilike(pattern), Task.labels.any(Label.name == term)))
        .order_by(Task.id)
        .all()
    )


def project_stats():
    rows = (
        db.session.query(Project.slug, func.count(Task.id), func.sum(Task.estimate))
        .outerjoin(Task)
        .group_by(Project.slug)
        .order_by(Project.slug)
        .all()
    )
    return [{"project": slug, "tasks": n, "estimate": est or 0} for slug, n, est in rows]


def busiest_users(limit=2):
    return (
        db.session.query(User.username, func.count(Task.id).label("n"))
        .join(Task, Task.assignee_id == User.id)
        .filter(Task.done == False)
        .group_by(User.username)
        .order_by(db.desc("n"), User.username)
        .limit(limit)
        .all()
    )


def label_usage():
    result = {}
    for label in Label.query.order_by(Label.name).all():
        result[label.name] = label.tasks.filter(Task.done == False).count()
    return result


def archive_done_projects():
    archived = []
    for project in Project.query.filter_by(archived=False).order_by(Project.id):
        if project.tasks and all(t.done for t in project.tasks):
            project.archived = True
            archived.append(project.slug)
    db.session.commit()
    return archived


def bump_priorities(project):
    n = Task.query.filter(
        Task.project_id == project.id, Task.done == False, Task.priority < 5
    ).update({Task.priority: Task.priority + 1}, synchronize_session="fetch")
    db.session.commit()
    return n


def add_comment(task, user, body):
    comment = Comment(task=task, author=user, body=body)
    db.session.add(comment)
    db.session.commit()
    return comment


def raw_count(table):
    return db.session.execute("SELECT count(*) FROM %s" % table).scalar()
