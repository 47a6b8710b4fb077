"""Sampling the persona's next turn: the prompt in the training format, stops, streaming, seeds, bubbles."""

import pytest
import torch
import transformers

from gptisyou.engine.clone import DRAWS, _longest_stop_prefix
from gptisyou.engine.responder import Line, Sampling, Usage, bubbles
from gptisyou.engine.torch_engine import TorchClone, load
from gptisyou.store.runs import Run
from tests.conftest import ScriptedModel


@pytest.fixture
def tokenizer(tiny_base):
    return transformers.AutoTokenizer.from_pretrained(tiny_base)


def clone_saying(text: str, tokenizer, **kwargs) -> TorchClone:
    return TorchClone(ScriptedModel.saying(text, tokenizer), tokenizer, "Ann", **kwargs)


def test_the_prompt_is_the_training_format_ending_in_the_persona_header(tokenizer):
    clone = clone_saying("w1 <eot>", tokenizer)
    clone.reply([Line("Bob", "w3"), Line("Ann", "w4\nw5")])
    assert tokenizer.decode(clone.model.prompts[0]) == "Bob : w3 <eot> Ann : w4 w5 <eot> Ann :"


def test_the_turn_ends_at_the_end_marker(tokenizer):
    clone = clone_saying("w1 w2 <eot> Bob : w9", tokenizer)
    pieces = list(clone.stream([Line("Bob", "w3")], Sampling(temperature=0)))
    assert "".join(pieces) == "w1 w2"
    assert not any("<" in piece for piece in pieces)  # a half marker is never streamed


def test_the_turn_ends_at_the_next_speakers_header_split_across_pieces(tokenizer):
    clone = clone_saying("", tokenizer)
    clone._tokens_as_text = lambda prompt, sampling, usage: iter(["hey", " you\n", "Bo", "b: w9"])
    assert list(clone.stream([Line("Bob", "w3")])) == ["hey", " you"]


def test_a_turn_that_ends_before_a_word_is_drawn_again_unseen_by_a_reader(tokenizer):
    clone, seeds = clone_saying("", tokenizer), []
    draws = iter([[], [" ", "\n", "Bob: w9"], ["\n", " ", "<eot>"], ["  \nhey", " you"]])

    def drawn(prompt, sampling, usage):
        seeds.append(sampling.seed)
        return iter(next(draws))

    clone._tokens_as_text = drawn
    assert list(clone.stream([Line("Bob", "w3")], Sampling(seed=5))) == ["hey", " you"]
    assert seeds == [5, 6, 7, 8]  # each draw a seed of its own: a seeded turn is still the same turn every time


def test_a_turn_that_stays_empty_is_given_up_after_a_few_draws(tokenizer):
    clone = clone_saying("<eot>", tokenizer)
    usage = Usage()
    assert list(clone.stream([Line("Bob", "w3")], usage=usage)) == []
    assert len(clone.model.prompts) == DRAWS
    assert usage.finish_reason == "stop"


def test_the_token_limit_ends_a_turn_that_never_stops(tokenizer):
    clone = clone_saying("w1 " * 50, tokenizer)
    assert clone.reply([Line("Bob", "w3")], Sampling(max_new_tokens=5, temperature=0)) == " ".join(["w1"] * 5)


def test_old_turns_are_dropped_to_fit_the_context(tokenizer):
    clone = clone_saying("w1 <eot>", tokenizer, max_context_tokens=12)
    clone.reply([Line("Bob", "w7 w7 w7 w7 w7"), Line("Ann", "w8"), Line("Bob", "w9")])
    assert tokenizer.decode(clone.model.prompts[0]) == "Ann : w8 <eot> Bob : w9 <eot> Ann :"


def test_sampling_is_seeded_and_stays_inside_top_p(tiny_base, tokenizer):
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_base)
    clone = TorchClone(model, tokenizer, "Ann")
    history = [Line("Bob", "w3 w4")]
    first, again = (clone.reply(history, Sampling(seed=7, max_new_tokens=8)) for _ in range(2))
    assert first == again
    greedy = {clone.reply(history, Sampling(temperature=0, max_new_tokens=8, seed=seed)) for seed in range(3)}
    assert len(greedy) == 1


def test_helpers():
    assert bubbles(" hi \n\n how are you?\n") == ["hi", "how are you?"]
    assert _longest_stop_prefix("ok <eo", ["<eot>", "\nBob:"]) == 3
    assert _longest_stop_prefix("ok\nBo", ["<eot>", "\nBob:"]) == 3
    assert _longest_stop_prefix("ok", ["<eot>"]) == 0


def test_a_turn_cut_at_the_token_limit_never_ends_in_half_a_marker(tokenizer):
    clone = clone_saying("", tokenizer)
    clone._tokens_as_text = lambda prompt, sampling, usage: iter(["18000", "<eo"])  # then the limit
    assert clone.reply([Line("Bob", "w3")]) == "18000"


def test_stop_sequences_end_the_turn(tokenizer):
    clone = clone_saying("", tokenizer)
    clone._tokens_as_text = lambda prompt, sampling, usage: iter(["w1 w", "2 w3 w4"])
    assert clone.reply([Line("Bob", "w3")], Sampling(stop=("2 w3",))) == "w1 w"


def test_a_prompt_longer_than_the_context_keeps_its_end(tokenizer):
    clone = clone_saying("w1 <eot>", tokenizer, max_context_tokens=12)
    clone.reply([Line("Bob", "w2 " * 5_000 + "w9")])
    prompt = clone.model.prompts[0]
    assert len(prompt) == 12
    assert tokenizer.decode(prompt).endswith("w2 w2 w9 <eot> Ann :")


def test_trimming_a_long_history_encodes_only_the_turns_that_fit(tokenizer):
    encoded = []

    class Counting:
        bos_token_id = eos_token_id = None

        def __call__(self, text, **kwargs):
            encoded.append(len(text))
            return tokenizer(text, **kwargs)

    clone = TorchClone(ScriptedModel.saying("w1 <eot>", tokenizer), Counting(), "Ann", max_context_tokens=64)
    history = [Line("Bob" if i % 2 else "Ann", "w1") for i in range(10_000)]
    clone._prompt_ids(history)
    rendered = sum(len(f"{line.speaker}: {line.text}<eot>\n") for line in history)
    assert sum(encoded) < 100 * 20  # the turns that fit, not the whole history again for every dropped turn
    assert rendered > 100_000


def test_style_strength_scales_what_the_adapter_adds(trained):
    def last_logits(clone):
        ids = torch.tensor([clone._prompt_ids([Line("Bob", "hello there")])])
        return clone.model(input_ids=ids).logits[0, -1].float()

    run = Run(trained)
    base = last_logits(load(run, "Ann", base_only=True, dtype=torch.float32))
    as_trained = last_logits(load(run, "Ann", dtype=torch.float32))
    off = last_logits(load(run, "Ann", dtype=torch.float32, style_strength=0))
    doubled = last_logits(load(run, "Ann", dtype=torch.float32, style_strength=2))
    torch.testing.assert_close(off, base, atol=1e-4, rtol=1e-4)
    assert (as_trained - base).abs().max() > 0.1
    # a LoRA update is linear in its scale, the model is not: the doubled step only goes further the same way
    assert torch.nn.functional.cosine_similarity(doubled - base, as_trained - base, dim=0) > 0.5
    assert (doubled - base).norm() > (as_trained - base).norm()


def test_a_head_of_the_spoken_tokens_samples_exactly_as_the_full_head_restricted_to_them(tiny_base, tokenizer):
    from gptisyou.engine.clone import spoken_vocabulary

    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_base)
    vocabulary = spoken_vocabulary(tokenizer, ["w1 w2 w3", "w4"])
    assert {tokenizer.convert_tokens_to_ids(w) for w in ("w1", "w4", "<eot>", "<pad>")} <= set(vocabulary)
    assert tokenizer.convert_tokens_to_ids("w30") not in vocabulary
    history = [Line("Bob", "w1 w2")]
    full = TorchClone(model, tokenizer, "Ann")
    spoken = TorchClone(model, tokenizer, "Ann", vocabulary=vocabulary)
    greedy = Sampling(temperature=0, max_new_tokens=8)
    hidden = model.model(input_ids=torch.tensor([full._prompt_ids(history)])).last_hidden_state[0, -1]
    logits = model.lm_head(hidden)
    expected = vocabulary[int(logits[vocabulary].argmax())]
    assert next(spoken._token_ids(full._prompt_ids(history), greedy))[0] == expected
    said = spoken._tokens_as_text(spoken._prompt_ids(history), Sampling(seed=3, max_new_tokens=20), Usage())
    assert set(tokenizer("".join(said), add_special_tokens=False)["input_ids"]) <= set(vocabulary)
