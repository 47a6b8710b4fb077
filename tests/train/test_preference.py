"""Preference tuning (DPO): the real reply gains on the base model's, measured against the adapter-off model."""

import json

import pytest
import torch

from gptisyou.data.render import Transcript
from gptisyou.engine.responder import Line, Sampling
from gptisyou.train import preference
from gptisyou.train.config import TrainConfig
from gptisyou.train.local import train
from gptisyou.train.model import load_lora_model


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
        return preference.example(transcript, [Line("Bob", f"w{n}")], "Ann", reply, context_tokens=64, memory=())

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


def test_corrections_round_trip_into_the_next_train_s_preference_pairs(learnable_chat, workspace, tiny_base, run):
    """/not-them in chat → stored → listed → the next train prefers what they would say → forget deletes it."""
    from click.testing import CliRunner

    from gptisyou.cli import cli
    from gptisyou.store.database import Store

    first = train(learnable_chat, workspace, TrainConfig("Ann", base=str(tiny_base), max_steps=1, batch_tokens=512))
    assert first is not None
    chatted = CliRunner().invoke(
        cli,
        ["chat", "--as", "Ann", "--seed", "1"],
        catch_exceptions=False,
        input="w3\n/not-them w9 w9\nw4\n/not-them\n/quit\n",
    )
    assert chatted.exit_code == 0, chatted.output
    assert "Noted as correction 1 (Ann would say: w9 w9)" in chatted.output
    listed = run("corrections", "--as", "Ann")
    assert "would say: w9 w9" in listed.stdout
    assert listed.stdout.count("not them: ") == 2
    config = TrainConfig("Ann", base=str(tiny_base), max_steps=1, batch_tokens=512)
    run_directory = train(learnable_chat, workspace, config)
    summary = json.loads((run_directory / "preference.jsonl").read_text().splitlines()[-1])
    assert summary["corrections"] == 2
    assert summary["pairs"] >= 1  # the rewrite's pair at least; the other takes the likeliest real reply
    assert run("corrections", "--as", "Ann", "--remove", "2").stdout == "1 correction(s) deleted\n"
    assert run("forget", "--as", "Ann", "--yes").exit_code == 0
    with Store.open(workspace) as store:
        assert store.corrections.of("Ann") == []


def test_a_correction_without_a_rewrite_prefers_the_real_reply_of_the_likeliest_training_moment(tiny_base):
    from datetime import datetime

    from gptisyou.data.conversations import Session, Turn
    from gptisyou.data.memory import Memory
    from gptisyou.engine.torch_engine import TorchClone
    from gptisyou.store.records import Correction

    at = datetime(2024, 1, 1)
    turns = (
        Turn("Bob", ("pizza tonight?",), at, at, True),
        Turn("Ann", ("w7 w8",), at, at, True),
        Turn("Bob", ("rain again",), at, at, True),
        Turn("Ann", ("umbrella w2",), at, at, True),
    )
    memory = Memory([Session(1, turns)], "Ann")
    model, tokenizer = load_lora_model(tiny_base, TrainConfig("Ann", bf16_frozen_weights=False))
    clone = TorchClone(model, tokenizer, "Ann")
    correction = Correction(1, "Ann", (("Bob", "pizza later?"),), "w5 w5", None, "web", at)
    [pair] = preference.corrected_pairs(clone, [correction], memory, context_tokens=64)
    decoded = tokenizer.decode([label for label in pair.chosen.labels if label != -100])
    assert "w7 w8" in decoded


def test_self_play_dpo_with_the_tuned_model_as_reference_prefers_the_real_reply(tiny_base):
    model, tokenizer = load_lora_model(tiny_base, TrainConfig("Ann", bf16_frozen_weights=False))
    with torch.no_grad():  # a tuned model: the adapter no longer adds nothing
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.02)
    transcript = Transcript(tokenizer)

    def ending(n: int, reply: str):
        return preference.example(transcript, [Line("Bob", f"w{n}")], "Ann", reply, context_tokens=64, memory=())

    pairs = [preference.Pair(ending(n, f"w{n + 1}"), ending(n, f"w{n + 5}")) for n in range(16)]

    def margin() -> float:
        with torch.no_grad():
            model.eval()
            return sum(
                (
                    preference.log_likelihood(model, p.chosen, 0) - preference.log_likelihood(model, p.rejected, 0)
                ).item()
                for p in pairs
            )

    before = margin()
    for _ in range(3):  # rounds: each against the model as it is when the round starts
        records = preference.tune(model, pairs, pad_id=0, beta=0.5, learning_rate=5e-3, self_play=True)
        assert records[0]["dpo_loss"] == pytest.approx(0.6931, abs=0.05)  # policy == reference at a round's start
    assert margin() > before + 1.0


def test_self_play_pairs_come_from_the_training_period_only(workspace, tmp_path, tiny_base, monkeypatch):
    from gptisyou.data.dataset import DatasetConfig, build
    from gptisyou.engine.torch_engine import TorchClone
    from gptisyou.sources import whatsapp_writer
    from gptisyou.store import ingest
    from gptisyou.store.database import Store
    from tests.data.test_dataset import ANDROID, _chat

    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(_chat(), path, ANDROID)  # every text unique: where each comes from is exact
    with Store.open(workspace) as store:
        ingest.import_file(store, path)
        data = build(store, DatasetConfig("Ann", redact=False, val_fraction=0.3))
    held_out = {turn.text for session in data.val for turn in session.turns} - {"<media>"}
    trained = {turn.text for session in data.train for turn in session.turns}
    model, tokenizer = load_lora_model(tiny_base, TrainConfig("Ann", bf16_frozen_weights=False))
    clone = TorchClone(model, tokenizer, "Ann")
    asked = []
    monkeypatch.setattr(clone, "reply", lambda history, sampling: asked.append(history) or "w1 w1")
    found = preference.pairs(clone, data, count=40, context_tokens=128, seed=0, self_play=True)
    assert found
    seen = {line.text for history in asked for line in history}
    assert seen <= trained
    assert not seen & held_out


def test_a_run_with_self_play_rounds_records_each_round(learnable_chat, workspace, tiny_base):
    config = TrainConfig(
        "Ann", base=str(tiny_base), max_steps=2, batch_tokens=512, preference_pairs=8, self_play_rounds=2
    )
    run_directory = train(learnable_chat, workspace, config)
    records = [json.loads(line) for line in (run_directory / "preference.jsonl").read_text().splitlines()]
    assert {record["round"] for record in records if "round" in record} == {1, 2}
    assert records[-1]["pairs"] > 0


def test_hostile_corrections_make_pairs_that_fit_the_window(tiny_base, workspace):
    """A 20,000-character reply and a context of 1,000 messages, as the store keeps them: pairs within the
    window, each with its reply as target."""
    from datetime import datetime

    from gptisyou.data.conversations import Session, Turn
    from gptisyou.data.memory import Memory
    from gptisyou.engine.torch_engine import TorchClone
    from gptisyou.store.database import Store

    with Store.open(workspace) as store:
        store.corrections.add(
            "Ann",
            [("Bob" if n % 2 else "Ann", f"w{n % 9}") for n in range(1000)],
            "w5 " * 7000,
            "w7 " * 7000,
            via="web",
        )
        corrections = store.corrections.of("Ann")
    at = datetime(2024, 1, 1)
    memory = Memory([Session(1, (Turn("Bob", ("w1",), at, at, True), Turn("Ann", ("w2",), at, at, True)))], "Ann")
    model, tokenizer = load_lora_model(tiny_base, TrainConfig("Ann", bf16_frozen_weights=False))
    [pair] = preference.corrected_pairs(TorchClone(model, tokenizer, "Ann"), corrections, memory, context_tokens=64)
    for example in (pair.chosen, pair.rejected):
        assert len(example.input_ids) <= 64
        assert example.targets > 0


def test_self_play_samples_the_tuned_model_from_the_tokens_the_person_uses(tiny_base):
    """The token filter chat's clone has, on the peft model training holds (its decoder under the wrapper)."""
    from gptisyou.engine.clone import spoken_vocabulary
    from gptisyou.engine.torch_engine import TorchClone

    model, tokenizer = load_lora_model(tiny_base, TrainConfig("Ann", bf16_frozen_weights=False))
    vocabulary = spoken_vocabulary(tokenizer, ["w1 w2", "w3"])
    clone = TorchClone(model, tokenizer, "Ann", vocabulary=vocabulary)
    tokens = clone._token_ids(clone._prompt_ids([Line("Bob", "w5 w6 w7")]), Sampling(temperature=1.5, seed=3))
    sampled = [next(tokens)[0] for _ in range(40)]
    assert set(sampled) <= set(vocabulary)
    assert clone.head.ids.tolist() == sorted(vocabulary)
