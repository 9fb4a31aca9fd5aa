import datetime

import click
from flask.cli import with_appcontext

from . import services
from .extensions import db
from .models import Comment, Label, Project, Task, User


@click.command("seed")
@click.option("--users", default=3, help="how many users")
@with_appcontext
def seed_command(users):
    """Create the tables and fill them with demo data."""
    db.drop_all()
    db.create_all()
    names = ["alice", "bob", "carol", "dave", "erin"][:users]
    people = [User(username=n, email=n + "@example.org", is_admin=(n == "alice")) for n in names]
    db.session.add_all(people)
    for label in ("bug", "feature", "docs"):
        db.session.add(Label(name=label))
    db.session.commit()
    specs = [
        (
            "web",
            "Website",
            [
                ("Fix login", 3, 0, ["bug"]),
                ("Add search", 2, 1, ["feature"]),
                ("Write FAQ", 1, None, ["docs"]),
            ],
        ),
        (
            "api",
            "Public API",
            [("Rate limiting", 4, 1, ["feature"]), ("Crash on empty body", 5, 0, ["bug"])],
        ),
        ("ops", "Operations", [("Rotate keys", 2, 2, [])]),
        ("mob", "Mobile app", []),
    ]
    for n, (slug, name, tasks) in enumerate(specs, start=1):
        project = Project(slug=slug, name=name, created=datetime.datetime(2021, 1, n))
        db.session.add(project)
        for title, prio, who, labels in tasks:
            task = services.create_task(
                project,
                title,
                prio,
                people[who] if who is not None and who < len(people) else None,
                labels,
            )
            task.estimate = prio * 2
    db.session.commit()
    first = Task.query.order_by(Task.id).first()
    db.session.add(Comment(task=first, author=people[1], body="can reproduce"))
    db.session.commit()
    click.echo(
        "seeded %d users, %d projects, %d tasks"
        % (User.query.count(), Project.query.count(), Task.query.count())
    )


@click.command("report")
@click.argument("username")
@with_appcontext
def report_command(username):
    user = User.query.filter_by(username=username).first()
    if user is None:
        raise click.ClickException("unknown user %s" % username)
    click.echo(
        "%s: %d open, %d done" % (user.username, user.task_count(False), user.task_count(True))
    )
    for task in user.open_tasks:
        click.echo("  - %s [%s]" % (task.title, task.project.slug))


def init_app(app):
    app.cli.add_command(seed_command)
    app.cli.add_command(report_command)

    @app.cli.command("close-all")
    @click.argument("slug")
    def close_all(slug):
        project = Project.query.filter_by(slug=slug).first()
        count = 0
        for task in project.tasks:
            if not task.done:
                task.done = True
                count += 1
        db.session.commit()
        click.echo("closed %d in %s" % (count, project.slug))
