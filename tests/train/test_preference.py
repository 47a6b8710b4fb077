"""Preference tuning (DPO): the real reply gains on the base model's, measured against the adapter-off model."""

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from gptisyou.data.render import Transcript  # noqa: E402
from gptisyou.engine.types import Line  # noqa: E402
from gptisyou.train import preference  # noqa: E402
from gptisyou.train.config import TrainConfig  # noqa: E402
from gptisyou.train.local import train  # noqa: E402
from gptisyou.train.model import load_lora_model  # noqa: E402


def test_the_loss_is_log_2_at_the_reference_and_falls_as_the_policy_prefers_chosen():
    zero = torch.tensor(0.0)
    assert preference.dpo_loss(zero, zero, zero, zero, beta=0.1).item() == pytest.approx(0.6931, abs=1e-4)
    better = preference.dpo_loss(torch.tensor(-1.0), torch.tensor(-9.0), torch.tensor(-5.0), torch.tensor(-5.0), 0.1)
    worse = preference.dpo_loss(torch.tensor(-9.0), torch.tensor(-1.0), torch.tensor(-5.0), torch.tensor(-5.0), 0.1)
    assert better.item() < 0.6931 < worse.item()


def test_dpo_raises_the_chosen_reply_over_the_rejected_one_on_the_tiny_model(tiny_base):
    model, tokenizer = load_lora_model(tiny_base, TrainConfig("Ann", bf16_frozen_weights=False))
    transcript = Transcript(tokenizer)

    def ending(n: int, reply: str):
        return preference.example(transcript, [Line("Bob", f"w{n}")], "Ann", reply, max_tokens=64, memory=())

    pairs = [preference.Pair(ending(n, f"w{n + 1}"), ending(n, f"w{n + 7}")) for n in range(16)]

    def margin() -> float:  # how much more likely the chosen replies are than the rejected ones, in nats
        with torch.no_grad():
            model.eval()
            return sum(
                (
                    preference.log_likelihood(model, p.chosen, 0) - preference.log_likelihood(model, p.rejected, 0)
                ).item()
                for p in pairs
            )

    before = margin()
    records = []
    for _ in range(4):
        records += preference.tune(model, pairs, pad_id=0, beta=0.5, learning_rate=5e-3)
    assert margin() > before + 1.0
    assert records[-1]["dpo_loss"] < records[0]["dpo_loss"]
    assert records[-1]["preference_accuracy"] > 0.5


def test_a_run_with_preference_pairs_records_them_and_keeps_an_adapter(learnable_chat, workspace, tiny_base):
    config = TrainConfig("Ann", base=str(tiny_base), max_steps=2, batch_tokens=512, preference_pairs=8)
    run_directory = train(learnable_chat, workspace, config)
    records = [json.loads(line) for line in (run_directory / "preference.jsonl").read_text().splitlines()]
    assert records[0]["preference_step"] == 1
    assert 0 < records[-1]["pairs"] <= 8
    assert {"val_loss_before", "val_loss_after"} <= set(records[-1])
    assert (run_directory / "adapter" / "adapter_model.safetensors").is_file()
