import sqlalchemy as sa
from sqlalchemy.orm import backref, relation

from model_base import BASE


class User(BASE):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)
    user = sa.Column(sa.String(32), nullable=False, unique=True)


class Project(BASE):
    __tablename__ = "projects"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(32), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=False)
    private = sa.Column(sa.Boolean, default=False, nullable=False)
    user = relation(User, backref="projects")


class Issue(BASE):
    __tablename__ = "issues"
    uid = sa.Column(sa.String(8), primary_key=True)
    id = sa.Column(sa.Integer, nullable=False)
    title = sa.Column(sa.String(64), nullable=False)
    project_id = sa.Column(sa.Integer, sa.ForeignKey("projects.id"), nullable=False)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=False)
    assignee_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"), nullable=True)
    project = relation(Project, backref=backref("issues", cascade="delete, delete-orphan"))
    user = relation(User, foreign_keys=[user_id], backref="reported")
    assignee = relation(User, foreign_keys=[assignee_id], backref="assigned")


class IssueComment(BASE):
    __tablename__ = "issue_comments"
    id = sa.Column(sa.Integer, primary_key=True)
    issue_uid = sa.Column(sa.String(8), sa.ForeignKey("issues.uid"), nullable=False)
    comment = sa.Column(sa.Text, nullable=False)
    issue = relation(Issue, backref=backref("comments", order_by=id))
