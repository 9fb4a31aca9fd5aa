def test_seed_command_is_idempotent(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0
    assert "Seeded 8 posts; 4 users, 5 tags in total." in first.output
    second = runner.invoke(args=["seed"])
    assert "Seeded 0 posts; 4 users, 5 tags in total." in second.output


def test_stats_command(runner, seeded):
    result = runner.invoke(args=["stats"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:5] == ["users: 4", "posts: 7", "drafts: 1", "comments: 4", "tags: 5"]
    assert lines[5:] == ["top author: alice (3)", "top author: bob (3)", "top author: carol (2)"]


def test_archive_command_unpublishes_old_posts(runner, client, seeded):
    result = runner.invoke(args=["archive", "--days", "12"])
    assert result.exit_code == 0
    assert "Archived 3 posts." in result.output
    stats = client.get("/api/stats").get_json()
    assert (stats["posts"], stats["drafts"]) == (4, 4)
    assert client.get("/post/indexing-basics").status_code == 404
    again = runner.invoke(args=["archive", "--days", "12"])
    assert "Archived 0 posts." in again.output


def test_init_db_command(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "Initialized the database." in result.output
