"""Run directories: one owner of the layout, created exclusively, found newest first."""

from datetime import datetime

import pytest

from gptisyou.errors import InputError
from gptisyou.store.runs import Run, RunConfig

NOON = datetime(2026, 1, 1, 12, 0, 0)


def _trained(run: Run) -> Run:
    run.adapter.mkdir()
    (run.adapter / "adapter_config.json").write_text("{}")
    (run.adapter / "adapter_model.safetensors").write_bytes(b"")
    return run


def test_runs_started_in_the_same_second_get_their_own_directories(workspace):
    workspace.mkdir()
    first, second, third = (Run.create(workspace, "Ann", NOON) for _ in range(3))
    assert [run.name for run in (first, second, third)] == [
        "20260101-120000",
        "20260101-120000-2",
        "20260101-120000-3",
    ]
    later = Run.create(workspace, "Ann", datetime(2026, 1, 1, 12, 0, 1))
    assert Run.of(workspace, "Ann") == [first, second, third, later]
    assert oct(first.directory.stat().st_mode & 0o777) == "0o700"


def test_the_latest_run_is_the_newest_with_an_adapter(workspace):
    workspace.mkdir()
    with pytest.raises(InputError, match="no trained model of Ann yet: gptisyou train --as Ann"):
        Run.latest(workspace, "Ann")
    trained = _trained(Run.create(workspace, "Ann", NOON))
    Run.create(workspace, "Ann", NOON)  # newer, but stopped before its first evaluation
    assert Run.latest(workspace, "Ann") == trained
    with pytest.raises(InputError, match="no interrupted run of Ann to resume"):
        Run.latest_resumable(workspace, "Ann")


def test_a_run_without_an_adapter_says_so(workspace):
    workspace.mkdir()
    run = Run.create(workspace, "Ann", NOON)
    with pytest.raises(InputError, match="no adapter"):
        run.require_adapter()
    run.write_config(RunConfig({"persona": "Ann"}, workspace / "models" / "x"))
    assert run.persona == "Ann"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("held_out_from", "last tuesday", "held_out_from is 'last tuesday', not a time"),
        ("held_out_from", 42, "held_out_from is 42, not a time"),
        ("reply_tokens", "lots", "reply_tokens is 'lots', not a positive whole number"),
        ("reply_tokens", -3, "reply_tokens is -3, not a positive whole number"),
        ("reply_tokens", True, "reply_tokens is True, not a positive whole number"),
        ("train", None, "train is None, not the training settings with a persona"),
        ("base_directory", ["x"], "base_directory is \\['x'\\], not a folder"),
        ("held_out", "all", "held_out is 'all', not a list of \\[chat, start\\] conversations"),
        ("held_out", 5, "held_out is 5, not a list of \\[chat, start\\] conversations"),
        (
            "held_out",
            [[1, "yesterday"]],
            "held_out is \\[\\[1, 'yesterday'\\]\\], not a list of \\[chat, start\\] conversations",
        ),
    ],
)
def test_a_hand_edited_record_of_the_data_is_one_line_naming_the_file_and_field(workspace, field, value, message):
    import json

    workspace.mkdir()
    run = Run.create(workspace, "Ann")
    run.write_config(RunConfig({"persona": "Ann"}, workspace / "models" / "x"))
    config = json.loads(run.config_file.read_text()) | {field: value}
    run.config_file.write_text(json.dumps(config))
    with pytest.raises(InputError, match=f"{run.config_file}: {message}$") as error:
        run.config()
    assert "\n" not in str(error.value)


def test_a_config_that_is_not_json_is_one_line(workspace):
    workspace.mkdir()
    run = Run.create(workspace, "Ann")
    run.config_file.write_text('{"train": ')
    with pytest.raises(InputError, match=f"^{run.config_file}: not JSON .* at line 1\\)$"):
        run.config()


def test_an_older_run_s_settings_read_back_in_today_s_form():
    from gptisyou.train.config import TrainConfig

    saved = {"persona": "Ann", "batch_tokens": None, "lora_rank": 8, "warmup_ratio": 0.1}  # a since-dropped setting
    assert TrainConfig.recorded(saved).batch_tokens == 2048  # the CPU size of the time
    assert TrainConfig.recorded(saved, "cuda").batch_tokens == 8192
    assert TrainConfig.recorded(saved).lora_rank == 8
    assert TrainConfig.recorded({"persona": "Ann"}) == TrainConfig("Ann")
    assert TrainConfig.recorded({"persona": "Ann", "max_tokens": 256}).context_tokens == 256  # its old name
