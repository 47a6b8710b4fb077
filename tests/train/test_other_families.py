"""`--base` with a model of another family, end to end: train, chat, ask, eval and export, through the CLI.

The default base is a Gemma 3; a user who has a larger Qwen2 or Llama directory must get the same path. Tiny
randomly initialised models of both families, built from a config, stand in for them.
"""

import json

import pytest
import transformers

FAMILIES = {
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
    "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
}


def _byte_level_tokenizer():
    """A byte-level BPE of a few hundred tokens, learned from the test chat's kind of text, as Qwen2 and Llama 3
    use (transformers loads a Qwen2 directory's tokenizer as its own class, whatever the files say)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator([f"Ann: w{i} w{i + 1}<eot>\nBob: w{i}" for i in range(40)] * 5, trainer)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


@pytest.fixture(params=sorted(FAMILIES))
def other_base(request, tmp_path_factory):
    """A tiny model of another family with a byte-level BPE tokenizer, as a model directory."""
    import torch

    config_class, model_class = FAMILIES[request.param]
    tokenizer = _byte_level_tokenizer()
    torch.manual_seed(0)
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        pad_token_id=0,
        initializer_range=0.5,
        tie_word_embeddings=False,
    )
    directory = tmp_path_factory.mktemp(f"tiny-{request.param}")
    model_class(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return request.param, directory


def test_a_base_of_another_family_trains_talks_evaluates_and_exports(run, learnable_chat, other_base, tmp_path):
    family, base = other_base
    trained = run(
        "train", "--as", "Ann", "--base", base, "--max-steps", "20", "--learning-rate", "0.03", "--batch-tokens", "256"
    )
    assert trained.exit_code == 0, trained.stderr
    run_dir = trained.stdout.splitlines()[0].removeprefix("run: ")

    asked = run("ask", "--as", "Ann", "w3", "--seed", "1")
    assert asked.exit_code == 0, asked.stderr
    assert asked.stdout.splitlines()[-1].startswith("Ann: ")
    chatted = run("chat", "--as", "Ann", "--seed", "1", input="w5\n/quit\n")
    assert chatted.exit_code == 0, chatted.stderr
    assert "torch" in chatted.stdout  # a model that is no GGUF runs on the torch engine

    evaluated = run("eval", "--as", "Ann", "--samples", "4")
    assert evaluated.exit_code == 0, evaluated.stderr
    metrics = json.loads((tmp_path / run_dir / "eval" / "metrics.json").read_text())
    assert metrics["base"] == str(base)
    assert metrics["fit"]["tuned"]["perplexity"] < metrics["fit"]["base"]["perplexity"]  # it learned the pattern

    merged = tmp_path / "merged"
    assert run("export", "--as", "Ann", "--to", "merged", "-o", merged).exit_code == 0
    model = transformers.AutoModelForCausalLM.from_pretrained(merged)
    assert model.config.model_type == family
    assert not any("lora" in name for name, _ in model.named_parameters())  # the adapter is merged in
    refused = run("export", "--as", "Ann", "--to", "gguf", "-o", tmp_path / "clone.gguf")
    assert refused.exit_code == 2
    assert "export it --to merged instead" in refused.stderr
