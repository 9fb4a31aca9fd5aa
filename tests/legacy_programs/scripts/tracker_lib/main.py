import os

import model
import query
from model_base import BASE


def main():
    if os.path.exists("tracker.db"):
        os.remove("tracker.db")
    session = query.create_session("sqlite:///tracker.db")
    BASE.metadata.create_all(session.get_bind())
    alice = model.User(user="alice")
    bob = model.User(user="bob")
    session.add_all([alice, bob])
    session.flush()
    tracker = model.Project(name="tracker", user=alice)
    docs = model.Project(name="docs", user=bob, private=True)
    session.add_all([tracker, docs])
    session.flush()
    for number, (title, author, assignee) in enumerate(
        [("crash", alice, bob), ("typo", bob, None), ("slow", alice, alice)], start=1
    ):
        session.add(
            model.Issue(
                uid="t%d" % number,
                id=number,
                title=title,
                project=tracker,
                user_id=author.id,
                assignee_id=assignee.id if assignee else None,
            )
        )
    session.add(model.Issue(uid="d1", id=1, title="outdated", project=docs, user_id=bob.id))
    session.add(model.IssueComment(issue_uid="t1", comment="seen it too"))
    session.commit()
    session.remove()

    session = query.create_session("sqlite:///tracker.db")
    tracker = session.query(model.Project).filter_by(name="tracker").one()
    print([i.title for i in query.search_issues(session, repo=tracker)])
    print(query.search_issues(session, repo=tracker, count=True))
    print([i.title for i in query.search_issues(session, assignee="bob")])
    print([i.title for i in query.search_issues(session, author="alice", limit=1)])
    print(query.issue_counts(session))
    print(query.projects_with_owners(session))
    issue = query.get_issue(session, tracker, 1)
    print(issue.title, len(issue.comments))
    print(query.add_comment(session, issue, "fixed upstream"))
    print(query.assign(session, query.get_issue(session, tracker, 2), "alice"))
    session.remove()


if __name__ == "__main__":
    main()
