"""The llama.cpp engine on the tiny trained model: the torch engine's very turns, the adapter GGUF written once per
run, and `--engine` in the commands."""

import itertools
import json
import shutil
from dataclasses import replace

import pytest

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python, built by `make fast` (a C++ compiler and minutes)")
import torch

from gptisyou.engine import choice, llama_engine, torch_engine
from gptisyou.engine.clone import spoken_vocabulary
from gptisyou.engine.responder import Line, Sampling, Usage
from gptisyou.store.runs import Run

if llama_engine.has_amx_kernels():  # never run (it would crash): as with no llama.cpp at all, these tests skip
    pytest.skip(
        "this llama-cpp-python has the AMX kernels that crash; `make fast` rebuilds it", allow_module_level=True
    )

HISTORIES = ([Line("Bob", "w3")], [Line("Bob", "w10"), Line("Ann", "w11"), Line("Bob", "w20")])


@pytest.fixture
def gguf_run(trained, tiny_llama_gguf, tmp_path) -> Run:
    """The trained tiny run with its base marked as converted from the tiny GGUF, as `train` marks the default's."""
    run = Run(trained)
    converted = tmp_path / "converted"
    shutil.copytree(run.config().base_directory, converted)
    (converted / "source.json").write_text(json.dumps({"gguf": str(tiny_llama_gguf)}))
    run.write_config(replace(run.config(), base_directory=converted))
    return run


@pytest.mark.parametrize("base_only", [False, True], ids=["tuned", "base"])
def test_llama_cpp_writes_the_torch_engine_s_greedy_turns(gguf_run, base_only):
    by_torch = torch_engine.load(gguf_run, "Ann", base_only, dtype=torch.float32)
    by_llama = llama_engine.load(gguf_run, "Ann", base_only)
    greedy = Sampling(temperature=0, max_new_tokens=8)
    for history in HISTORIES:
        assert by_llama.reply(history, greedy) == by_torch.reply(history, greedy)
    if not base_only:  # the chat's words, learned through the LoRA GGUF (the base alone babbles colons)
        assert by_llama.reply(HISTORIES[0], greedy).startswith("w")


def test_sampled_turns_repeat_with_a_seed_and_report_their_usage(gguf_run):
    clone = llama_engine.load(gguf_run, "Ann")
    # a seed the tuned model answers in words with (which one depends on the CPU's kernels)
    sampling = next(
        sampling
        for seed in range(50)
        if clone.reply(HISTORIES[0], sampling := Sampling(temperature=1.0, max_new_tokens=6, seed=seed))
    )
    usage = Usage()
    first = "".join(clone.stream(HISTORIES[0], sampling, usage))
    assert first == clone.reply(HISTORIES[0], sampling)
    assert usage.prompt_tokens == len(clone._prompt_ids(HISTORIES[0]))
    assert 1 <= usage.completion_tokens <= 6
    assert usage.logprob < 0


def test_the_adapter_gguf_is_written_once_and_again_when_the_adapter_changes(gguf_run, tiny_llama_gguf):
    first = llama_engine.adapter_gguf(gguf_run, tiny_llama_gguf)
    written = first.stat().st_mtime_ns
    assert llama_engine.adapter_gguf(gguf_run, tiny_llama_gguf).stat().st_mtime_ns == written
    assert oct(first.stat().st_mode & 0o777) == "0o600"
    from safetensors.torch import load_file, save_file

    weights = gguf_run.adapter / "adapter_model.safetensors"
    save_file({name: tensor * 2 for name, tensor in load_file(weights).items()}, weights)
    second = llama_engine.adapter_gguf(gguf_run, tiny_llama_gguf)
    assert second != first
    assert sorted(path.name for path in second.parent.iterdir()) == [second.name]  # the stale one is gone


def test_auto_takes_llama_cpp_for_a_gguf_base_and_torch_otherwise(gguf_run, trained, tmp_path):
    assert choice.resolved("auto", gguf_run) == "llama.cpp"
    assert choice.resolved("torch", gguf_run) == "torch"
    gguf_run.write_config(replace(gguf_run.config(), base_directory=tmp_path / "no-gguf-here"))
    assert choice.resolved("auto", gguf_run) == "torch"


def test_the_commands_run_on_llama_cpp(run, gguf_run):
    asked = {
        engine: run("ask", "--as", "Ann", "w3", "--engine", engine, "--temperature", "0")
        for engine in ("llama.cpp", "torch")
    }
    assert asked["llama.cpp"].exit_code == 0, asked["llama.cpp"].stderr
    assert asked["llama.cpp"].stdout == asked["torch"].stdout
    assert asked["llama.cpp"].stdout.startswith("Bob: w3\nAnn: w")
    evaluated = run("eval", "--as", "Ann", "--samples", "4")  # auto: llama.cpp
    assert evaluated.exit_code == 0, evaluated.stderr
    metrics = json.loads((gguf_run.eval_dir / "metrics.json").read_text())
    assert (metrics["engine"], len(metrics["samples"])) == ("llama.cpp", 4)


def test_loading_prints_none_of_llama_cpp_s_notices(gguf_run, capfd):
    llama_engine.load(gguf_run, "Ann")  # with the adapter: the context and LoRA set-up are what printed notices
    assert capfd.readouterr().err == ""


def test_replies_keep_to_the_tokens_the_chats_use_as_on_torch(gguf_run):
    said = ["w1 w2 w3", "w4"]
    clone = llama_engine.load(gguf_run, "Ann", said=said)
    vocabulary = set(spoken_vocabulary(clone.tokenizer, said))
    prompt = clone._prompt_ids(HISTORIES[1])
    for seed in range(4):
        sampled = itertools.islice(clone._token_ids(prompt, Sampling(temperature=3.0, seed=seed)), 12)
        assert {token for token, _ in sampled} <= vocabulary


def test_the_temperature_sharpens_before_the_nucleus_is_cut_as_on_torch(gguf_run):
    """llama.cpp's own chain cuts top-p before the temperature: its nucleus would be torch's at temperature 1."""
    by_torch = torch_engine.load(gguf_run, "Ann", dtype=torch.float32)
    clone = llama_engine.load(gguf_run, "Ann")
    prompt = clone._prompt_ids(HISTORIES[1])
    with torch.no_grad():
        logits = by_torch.model(input_ids=torch.tensor([prompt])).logits[0, -1]

    def nucleus(temperature: float, top_p: float) -> set[int]:
        ordered = torch.softmax(logits / temperature, dim=-1).sort(descending=True)
        return set(ordered.indices[(ordered.values.cumsum(0) - ordered.values) <= top_p].tolist())

    assert nucleus(0.3, 0.6) < nucleus(1.0, 0.6)  # the two orders differ here
    sampling = Sampling(temperature=0.3, top_p=0.6)
    firsts = {next(clone._token_ids(prompt, replace(sampling, seed=seed)))[0] for seed in range(40)}
    assert firsts <= nucleus(0.3, 0.6)


def test_a_turn_longer_than_the_context_is_weighed_on_what_fits_and_alone_as_well(gguf_run):
    clone = llama_engine.load(gguf_run, "Ann")
    story = " ".join(f"w{n % 20}" for n in range(3 * llama_engine.CONTEXT_TOKENS))  # a real turn of a long story
    assert clone.likelihood(HISTORIES[1], story) < clone.likelihood(HISTORIES[1], "w1 w2") < 0
    assert clone.prior(story) < 0
