"""Library functions given the session by their callers, as Pagure's lib/query.py."""

from sqlalchemy import func
from sqlalchemy.orm import eagerload

import model
from model_base import create_session  # noqa: F401  (re-exported)


def get_user(session, username):
    query = session.query(model.User).filter(model.User.user == username)
    return query.first()


def get_issue(session, project, issueid):
    query = (
        session.query(model.Issue)
        .filter(model.Issue.project_id == project.id)
        .filter(model.Issue.id == issueid)
    )
    return query.first()


def search_issues(session, repo=None, assignee=None, author=None, count=False, limit=None):
    uids = session.query(model.Issue.uid)
    if repo is not None:
        uids = uids.filter(model.Issue.project_id == repo.id)
    if assignee is not None:
        userassignee = (
            session.query(model.User.id).filter(model.User.user == assignee).scalar_subquery()
        )
        uids = uids.filter(model.Issue.assignee_id == userassignee)
    if author is not None:
        uids = uids.filter(model.Issue.user_id == model.User.id).filter(model.User.user == author)
    query = session.query(model.Issue).filter(model.Issue.uid.in_(uids))
    query = query.order_by(model.Issue.id.desc())
    if count:
        output = query.count()
    else:
        if limit:
            query = query.limit(limit)
        output = query.all()
    return output


def issue_counts(session):
    query = (
        session.query(model.Project.name, func.count(model.Issue.uid))
        .join(model.Issue, model.Issue.project_id == model.Project.id)
        .group_by(model.Project.name)
        .order_by(model.Project.name)
    )
    return [(name, total) for name, total in query.all()]


def projects_with_owners(session):
    projects = session.query(model.Project).options(eagerload(model.Project.user))
    return ["%s/%s" % (p.user.user, p.name) for p in projects.order_by(model.Project.id)]


def add_comment(session, issue, comment):
    issue_comment = model.IssueComment(issue_uid=issue.uid, comment=comment)
    session.add(issue_comment)
    session.commit()
    return "Comment added to #%s (%s comments)" % (issue.id, len(issue.comments))


def assign(session, issue, username):
    user = get_user(session, username)
    issue.assignee_id = user.id
    session.add(issue)
    session.commit()
    return "#%s assigned to %s" % (issue.id, issue.assignee.user)
