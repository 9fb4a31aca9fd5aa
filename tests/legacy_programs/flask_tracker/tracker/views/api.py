from flask import Blueprint, abort, g, jsonify, request

from .. import services
from ..extensions import db
from ..models import Comment, Project, Task, User

api = Blueprint("api", __name__, url_prefix="/api")


@api.route("/users")
def list_users():
    users = User.query.order_by(User.username).all()
    return jsonify([u.to_dict() for u in users])


@api.route("/users/<int:user_id>")
def get_user(user_id):
    user = User.query.get_or_404(user_id, description="no such user")
    data = user.to_dict()
    data.update(done=user.task_count(done=True), total=user.task_count())
    return jsonify(data)


@api.route("/users/<username>/tasks")
def user_tasks(username):
    user = User.query.filter_by(username=username).first_or_404()
    q = user.tasks
    if request.args.get("open"):
        q = q.filter(Task.done == False)
    min_priority = request.args.get("min_priority", type=int)
    if min_priority:
        q = q.filter(Task.priority >= min_priority)
    tasks = q.order_by(Task.priority.desc(), Task.id).all()
    return jsonify(user=user.username, tasks=[t.to_dict() for t in tasks])


@api.route("/projects")
def list_projects():
    page = request.args.get("page", 1, type=int)
    pagination = Project.query.order_by(Project.slug).paginate(page, 2, error_out=False)
    return jsonify(
        page=pagination.page,
        pages=pagination.pages,
        total=pagination.total,
        has_next=pagination.has_next,
        items=[{"slug": p.slug, "tasks": len(p.tasks)} for p in pagination.items],
    )


@api.route("/tasks", methods=["POST"])
def create_task():
    data = request.get_json()
    project = Project.query.filter_by(slug=data["project"]).first_or_404()
    assignee = None
    if data.get("assignee"):
        assignee = User.by_username(data["assignee"])
        if assignee is None:
            abort(400)
    task = services.create_task(
        project, data["title"], data.get("priority", 1), assignee, data.get("labels", [])
    )
    return jsonify(task.to_dict()), 201


@api.route("/tasks/<int:task_id>/close", methods=["POST"])
def close(task_id):
    task = services.close_task(task_id)
    if task is None:
        abort(404)
    return jsonify(task.to_dict())


@api.route("/tasks/<int:task_id>/assign", methods=["POST"])
def assign(task_id):
    task = Task.query.get_or_404(task_id)
    ok = services.reassign(task, request.get_json()["username"])
    return jsonify(ok=ok, task=task.to_dict())


@api.route("/tasks/<int:task_id>/comments", methods=["POST"])
def comment(task_id):
    task = Task.query.get_or_404(task_id)
    if g.user is None:
        abort(401)
    c = services.add_comment(task, g.user, request.get_json()["body"])
    return jsonify(id=c.id, count=task.comments.count()), 201


@api.route("/tasks/<int:task_id>/notes", methods=["POST"])
def quick_note(task_id):
    task = Task.query.get_or_404(task_id)
    author = User.query.filter_by(username=request.get_json()["by"]).first_or_404()
    Comment(task=task, author=author, body=request.get_json()["body"])
    db.session.commit()
    return jsonify(count=task.comments.count())


@api.route("/tasks/<int:task_id>", methods=["DELETE"])
def delete_task(task_id):
    task = Task.query.get_or_404(task_id)
    db.session.delete(task)
    db.session.commit()
    return "", 204


@api.route("/search")
def search():
    return jsonify([t.to_dict() for t in services.search_tasks(request.args["q"])])


@api.route("/stats")
def stats():
    return jsonify(
        projects=services.project_stats(),
        busiest=[list(r) for r in services.busiest_users()],
        labels=services.label_usage(),
        comments=Comment.query.count(),
        raw_tasks=services.raw_count("task"),
    )


@api.route("/projects/<slug>/bump", methods=["POST"])
def bump(slug):
    project = Project.query.filter_by(slug=slug).first_or_404()
    n = services.bump_priorities(project)
    return jsonify(bumped=n, priorities=[t.priority for t in project.tasks])


@api.route("/archive", methods=["POST"])
def archive():
    return jsonify(archived=services.archive_done_projects())
