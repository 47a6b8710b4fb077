"""people --merge: one person under several names, across chats and apps, used by --as."""

import json

import pytest


def _telegram_chat(path, me: str, other: str, chat_id: int, day: int):
    messages = [
        {
            "id": n,
            "type": "message",
            "date": f"2024-05-{day:02d}T10:{n:02d}:00",
            "from": sender,
            "from_id": sender,
            "text": f"{sender} says {n}",
        }
        for n, sender in enumerate([other, me] * 5)
    ]
    path.write_text(json.dumps({"name": other, "type": "personal_chat", "id": chat_id, "messages": messages}))
    return path


def test_merged_names_are_one_persona_across_apps(run, workspace, tmp_path):
    from gptisyou.data.dataset import DatasetConfig, build, counterpart
    from gptisyou.store.database import Store

    run("import", _telegram_chat(tmp_path / "a.json", "Alex Martin", "Sam", 1, 1))
    run("import", _telegram_chat(tmp_path / "b.json", "alex.m", "Kim", 2, 2))
    merged = run("people", "--merge", "Alex Martin", "alex.m")
    assert merged.exit_code == 0, merged.output
    assert "alex.m (= Alex Martin)" in merged.output
    with Store.open(workspace) as store:
        data = build(store, DatasetConfig("Alex Martin", redact=False, val_fraction=0))
        assert sorted(data.people) == [1, 2]  # both chats, the second one written as alex.m
        assert data.target_turns(data.train) == 10
        assert counterpart(store, "Alex Martin") in ("Kim", "Sam")
    unmerged = run("people", "--unmerge", "alex.m")
    assert "1 merged name(s) forgotten" in unmerged.output
    with Store.open(workspace) as store:
        assert sorted(build(store, DatasetConfig("Alex Martin", redact=False)).people) == [1]


@pytest.mark.parametrize("args", [("--merge",), ("Alex",), ("--merge", "--unmerge", "Alex")])
def test_merge_needs_names_and_one_flag(run, workspace, args):
    result = run("people", *args)
    assert result.exit_code == 2
    assert "--merge" in result.output


def test_merging_an_unknown_name_is_refused(run, workspace, tmp_path):
    run("import", _telegram_chat(tmp_path / "a.json", "Alex Martin", "Sam", 1, 1))
    result = run("people", "--merge", "Alex Martin", "nobody")
    assert result.exit_code == 2
    assert "no participant 'nobody'" in result.output


def test_merges_follow_chains_and_a_loop_is_refused(run, workspace, tmp_path):
    """After a chain of merges `--as Alice` lost Alice's own messages: merges were one level deep."""
    from gptisyou.store.database import Store

    run("import", _telegram_chat(tmp_path / "a.json", "Alice", "Sam", 1, 1))
    run("import", _telegram_chat(tmp_path / "b.json", "Al", "Kim", 2, 2))
    run("import", _telegram_chat(tmp_path / "c.json", "alice.w", "Lou", 3, 3))
    assert run("people", "--merge", "Al", "alice.w").exit_code == 0
    assert run("people", "--merge", "Alice", "Al").exit_code == 0
    with Store.open(workspace) as store:
        assert store.aliases() == {"Al": "Alice", "alice.w": "Alice"}
    looped = run("people", "--merge", "alice.w", "Alice")
    assert looped.exit_code == 2
    assert "'alice.w' is already a name of 'Alice': merging 'Alice' into it would make a loop" in looped.stderr
    with Store.open(workspace) as store:
        store.db.execute("INSERT INTO aliases VALUES ('Alice', 'Al')")  # a loop an older version could write
        assert store.aliases()["alice.w"] in ("Alice", "Al")  # read without hanging


def test_merging_the_two_sides_of_one_chat_asks_first(run, workspace, tmp_path):
    run("import", _telegram_chat(tmp_path / "a.json", "Alex Martin", "Sam", 1, 1))
    refused = run("people", "--merge", "Alex Martin", "Sam", input="n\n")
    assert refused.exit_code == 3
    assert "two of these write to each other in chat 1 'Sam'" in refused.stderr
    assert "(= Alex Martin)" not in run("people").stdout
    assert run("people", "--merge", "Alex Martin", "Sam", "--yes").exit_code == 0
