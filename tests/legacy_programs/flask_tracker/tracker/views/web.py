from flask import Blueprint, render_template, request

from ..models import Project, Task, User

web = Blueprint("web", __name__)


@web.route("/")
def index():
    projects = Project.query.filter_by(archived=False).order_by(Project.name).all()
    return render_template("index.html", projects=projects)


@web.route("/projects/<slug>")
def project_detail(slug):
    project = Project.query.filter_by(slug=slug).first_or_404()
    return render_template("project.html", project=project)


@web.route("/users/<username>")
def user_page(username):
    user = User.query.filter_by(username=username).first_or_404()
    high = user.tasks.filter(Task.priority >= 3).order_by(Task.id).all()
    return render_template("user.html", user=user, high=high)


@web.route("/tasks")
def task_list():
    page = request.args.get("page", 1, type=int)
    pagination = Task.query.order_by(Task.id).paginate(page=page, per_page=3, error_out=False)
    return render_template("tasks.html", pagination=pagination)


@web.route("/whoami")
def whoami():
    return render_template("whoami.html")
