from sqlalchemy.orm import validates

from .extensions import db

task_labels = db.Table(
    "task_labels",
    db.Column("task_id", db.Integer, db.ForeignKey("task.id"), primary_key=True),
    db.Column("label_id", db.Integer, db.ForeignKey("label.id"), primary_key=True),
)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(40), unique=True, nullable=False)
    email = db.Column(db.String(120), unique=True, nullable=False)
    is_admin = db.Column(db.Boolean, default=False, nullable=False)
    tasks = db.relationship("Task", backref="assignee", lazy="dynamic")
    comments = db.relationship("Comment", backref="author", lazy="select")

    @classmethod
    def by_username(cls, username):
        return cls.query.filter_by(username=username).first()

    @property
    def open_tasks(self):
        return self.tasks.filter_by(done=False).order_by(Task.priority.desc(), Task.id).all()

    def task_count(self, done=None):
        q = self.tasks
        if done is not None:
            q = q.filter(Task.done == done)
        return q.count()

    def to_dict(self):
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "open": len(self.open_tasks),
        }

    def __repr__(self):
        return "<User %s>" % self.username


class Project(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    slug = db.Column(db.String(40), unique=True, nullable=False)
    name = db.Column(db.String(80), nullable=False)
    archived = db.Column(db.Boolean, default=False, nullable=False)
    created = db.Column(db.DateTime, nullable=False)
    tasks = db.relationship(
        "Task",
        backref=db.backref("project", lazy="select"),
        lazy="select",
        order_by="Task.id",
        cascade="all, delete-orphan",
    )

    def __repr__(self):
        return "<Project %s>" % self.slug


class Label(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(30), unique=True, nullable=False)
    color = db.Column(db.String(7), default="#cccccc")

    def __repr__(self):
        return "<Label %s>" % self.name


class Task(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(120), nullable=False)
    done = db.Column(db.Boolean, default=False, nullable=False)
    priority = db.Column(db.Integer, default=1, nullable=False)
    estimate = db.Column(db.Integer)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id"), nullable=False)
    assignee_id = db.Column(db.Integer, db.ForeignKey("user.id"))
    labels = db.relationship(
        "Label", secondary=task_labels, lazy="select", backref=db.backref("tasks", lazy="dynamic")
    )
    comments = db.relationship(
        "Comment", backref="task", lazy="dynamic", cascade="all, delete-orphan"
    )

    @validates("priority")
    def check_priority(self, key, value):
        if not 1 <= value <= 5:
            raise ValueError("priority must be 1..5")
        return value

    def to_dict(self):
        return {
            "id": self.id,
            "title": self.title,
            "done": self.done,
            "priority": self.priority,
            "project": self.project.slug,
            "assignee": self.assignee.username if self.assignee else None,
            "labels": sorted(label.name for label in self.labels),
            "comments": self.comments.count(),
        }

    def __repr__(self):
        return "<Task %d %s>" % (self.id, self.title)


class Comment(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    body = db.Column(db.Text, nullable=False)
    task_id = db.Column(db.Integer, db.ForeignKey("task.id"), nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)
