"""The recipe end to end on a tiny randomly initialised Gemma 3 and a real imported chat."""

import json
import stat

import peft
import pytest
import torch
import transformers

from gptisyou.train.local import TrainConfig, train


def test_training_changes_only_lora_weights_and_lowers_the_loss(learnable_chat, workspace, tiny_base):
    before = transformers.AutoModelForCausalLM.from_pretrained(tiny_base).state_dict()
    config = TrainConfig(
        "Ann",
        base=str(tiny_base),
        max_steps=60,
        learning_rate=3e-2,
        eval_every=20,
        patience=10,
        batch_tokens=256,
        lora_rank=8,
    )
    steps = []
    run = train(learnable_chat, workspace, config, on_step=steps.append)

    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(61))  # step 0: the untuned base on the held-out turns
    assert steps[-1]["total_steps"] == 60
    assert metrics[-1]["train_loss"] < metrics[1]["train_loss"] / 2
    evaluations = [m for m in metrics if "val_loss" in m]
    assert [m["step"] for m in evaluations] == [0, 20, 40, 60]
    assert min(m["val_loss"] for m in evaluations[1:]) < evaluations[0]["val_loss"]
    assert all(0 <= m["val_token_accuracy"] <= 1 for m in evaluations)

    adapter = run / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    base = transformers.AutoModelForCausalLM.from_pretrained(tiny_base)
    tuned = peft.PeftModel.from_pretrained(base, adapter)
    lora = {name: value for name, value in tuned.state_dict().items() if "lora_B" in name}
    assert lora
    assert all(value.abs().sum() > 0 for value in lora.values())  # every LoRA matrix learned something
    merged = tuned.merge_and_unload().state_dict()
    frozen = [name for name in before if "embed" in name or "norm" in name]
    assert all(torch.equal(before[name], merged[name]) for name in frozen)  # base weights untouched
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in run.rglob("*") if path.is_file()} == {0o600}


def test_same_seed_same_run(learnable_chat, workspace, tiny_base):
    config = TrainConfig("Ann", base=str(tiny_base), max_steps=5, eval_every=5, batch_tokens=256)
    first = (train(learnable_chat, workspace, config) / "metrics.jsonl").read_text().splitlines()
    second = (train(learnable_chat, workspace, config) / "metrics.jsonl").read_text().splitlines()
    losses = [[json.loads(line)["train_loss"] for line in run[1:]] for run in (first, second)]
    assert losses[0] == losses[1]


def test_an_interrupted_run_resumes_exactly(learnable_chat, workspace, tiny_base):
    config = TrainConfig("Ann", base=str(tiny_base), max_steps=6, eval_every=2, batch_tokens=256)
    straight = (train(learnable_chat, workspace, config) / "metrics.jsonl").read_text().splitlines()

    def interrupt(record: dict) -> None:
        if record["step"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(learnable_chat, workspace, config, on_step=interrupt)
    resumed_run = train(learnable_chat, workspace, config, resume=True)
    resumed = (resumed_run / "metrics.jsonl").read_text().splitlines()

    def losses(lines):
        return [(r["step"], r["train_loss"], r.get("val_loss")) for r in map(json.loads, lines) if r["step"] > 0]

    assert losses(resumed) == losses(straight)
    assert (resumed_run / "checkpoint" / "training_state.pt").is_file()


def test_nothing_to_resume_is_an_input_error(learnable_chat, workspace, tiny_base):
    from gptisyou.errors import InputError

    with pytest.raises(InputError, match="no interrupted run of Ann to resume"):
        train(learnable_chat, workspace, TrainConfig("Ann", base=str(tiny_base)), resume=True)


def test_a_run_with_memory_trains_evaluates_and_recalls_when_it_replies(learnable_chat, workspace, tiny_base):
    from gptisyou.data.memory import remembered
    from gptisyou.engine.responder import Line
    from gptisyou.engine.torch_engine import TorchClone, load
    from gptisyou.store.runs import Run

    config = TrainConfig("Ann", base=str(tiny_base), max_steps=2, batch_tokens=512, memory=2)
    run = Run(train(learnable_chat, workspace, config))
    assert run.config().memory == 2
    clone = load(run, "Ann", memory=remembered(learnable_chat, "Ann"))
    prompt = clone._prompt_ids([Line("Bob", "w5")])
    without = TorchClone(clone.model, clone.tokenizer, "Ann")._prompt_ids([Line("Bob", "w5")])
    assert len(prompt) > len(without)
    assert prompt[-len(without) + 1 :] == without[1:]  # the memory block comes after <bos>, before the conversation
