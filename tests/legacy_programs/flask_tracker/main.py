"""Drive the tracker app: seed via the CLI, call every route, print the answers."""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tracker import create_app


def show(label, resp):
    body = resp.get_data(as_text=True)
    if resp.is_json:
        body = json.dumps(resp.get_json(), sort_keys=True)
    body = " ".join(body.split())
    print("%s -> %s %s" % (label, resp.status_code, body))


def main():
    tmp = tempfile.mkdtemp()
    app = create_app("sqlite:///" + os.path.join(tmp, "tracker.db"))
    runner = app.test_cli_runner()
    r = runner.invoke(args=["seed", "--users", "4"])
    print("seed:", r.exit_code, r.output.strip(), r.exception if r.exit_code else "")
    c = app.test_client()
    show("GET /api/users", c.get("/api/users"))
    show("GET /api/users/1", c.get("/api/users/1"))
    show("GET /api/users/99", c.get("/api/users/99"))
    show("GET /api/users/alice/tasks", c.get("/api/users/alice/tasks"))
    show(
        "GET /api/users/bob/tasks?open=1&min_priority=3",
        c.get("/api/users/bob/tasks?open=1&min_priority=3"),
    )
    show("GET /api/users/nobody/tasks", c.get("/api/users/nobody/tasks"))
    for p in (1, 2, 3):
        show("GET /api/projects?page=%d" % p, c.get("/api/projects?page=%d" % p))
    show(
        "POST /api/tasks",
        c.post(
            "/api/tasks",
            json={
                "project": "ops",
                "title": "Backups",
                "priority": 3,
                "assignee": "dave",
                "labels": ["docs", "infra"],
            },
        ),
    )
    show(
        "POST /api/tasks bad user",
        c.post("/api/tasks", json={"project": "ops", "title": "x", "assignee": "zed"}),
    )
    show(
        "POST /api/tasks bad project", c.post("/api/tasks", json={"project": "nope", "title": "x"})
    )
    show("POST close 2", c.post("/api/tasks/2/close"))
    show("POST close 99", c.post("/api/tasks/99/close"))
    show("POST assign 3", c.post("/api/tasks/3/assign", json={"username": "carol"}))
    show("POST assign 3 zed", c.post("/api/tasks/3/assign", json={"username": "zed"}))
    show("POST comment anon", c.post("/api/tasks/1/comments", json={"body": "hi"}))
    show(
        "POST comment",
        c.post("/api/tasks/1/comments", json={"body": "on it"}, headers={"X-User": "alice"}),
    )
    show(
        "POST note",
        c.post("/api/tasks/2/notes", json={"body": "saved by the backref", "by": "carol"}),
    )
    show("GET /api/search?q=bug", c.get("/api/search?q=bug"))
    show("GET /api/search?q=ra", c.get("/api/search?q=ra"))
    show("GET /api/stats", c.get("/api/stats"))
    show("POST bump web", c.post("/api/projects/web/bump"))
    show("GET /", c.get("/"))
    show("GET /projects/web", c.get("/projects/web"))
    show("GET /projects/zzz", c.get("/projects/zzz"))
    show("GET /users/alice", c.get("/users/alice"))
    show("GET /tasks", c.get("/tasks"))
    show("GET /tasks?page=3", c.get("/tasks?page=3"))
    show("GET /whoami", c.get("/whoami"))
    show("GET /whoami bob", c.get("/whoami", headers={"X-User": "bob"}))
    r = runner.invoke(args=["report", "alice"])
    print("report alice:", r.exit_code, " | ".join(r.output.strip().splitlines()))
    r = runner.invoke(args=["report", "zed"])
    print("report zed:", r.exit_code, r.output.strip())
    r = runner.invoke(args=["close-all", "ops"])
    print("close-all ops:", r.exit_code, r.output.strip(), r.exception if r.exit_code else "")
    show("POST archive", c.post("/api/archive"))
    show("GET / after archive", c.get("/"))
    show("DELETE task 1", c.delete("/api/tasks/1"))
    show("DELETE task 1 again", c.delete("/api/tasks/1"))
    show("GET /api/stats", c.get("/api/stats"))


if __name__ == "__main__":
    main()
