"""One rendering of a conversation: training and generation meet at the same token, the first word included."""

import pytest
import tokenizers
import transformers

from gptisyou.data.render import IGNORE_INDEX, Spoken, Transcript, target_span, turn_text


@pytest.fixture(scope="module")
def sentencepiece_like():
    """A tokenizer that, like Gemma's, puts a word's leading space inside the word's token (`▁yeah`)."""
    specials = ["<unk>", "<bos>", "<end_of_turn>"]
    pieces = [*specials, "<eot>", "Sam", "Robin", ":", "\n", "▁hi", "▁yeah", "▁sure", "▁", "y", "e"]
    model = tokenizers.models.Unigram([(piece, -1.0 if len(piece) > 1 else -5.0) for piece in pieces], unk_id=0)
    backend = tokenizers.Tokenizer(model)
    backend.normalizer = tokenizers.normalizers.Replace(" ", "▁")
    backend.decoder = tokenizers.decoders.Metaspace(prepend_scheme="never")
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<bos>", unk_token="<unk>", additional_special_tokens=["<end_of_turn>"]
    )


def _names(tokenizer, ids):
    return tokenizer.convert_ids_to_tokens(ids)


def test_every_token_of_a_persona_reply_is_a_target_the_first_word_included(sentencepiece_like):
    transcript = Transcript(sentencepiece_like)
    ids, labels = transcript.training([Spoken("Sam", "hi"), Spoken("Robin", "yeah sure", target=True)], 64)
    learned = [token for token, label in zip(ids, labels, strict=True) if label != IGNORE_INDEX]
    assert _names(sentencepiece_like, learned) == ["▁yeah", "▁sure", "<eot>"]
    assert _names(sentencepiece_like, ids) == [
        "<bos>",
        "Sam",
        ":",
        "▁hi",
        "<eot>",
        "\n",
        "Robin",
        ":",
        "▁yeah",
        "▁sure",
        "<eot>",
        "\n",
    ]


def test_generation_sees_training_s_ids_up_to_the_reply(sentencepiece_like):
    transcript = Transcript(sentencepiece_like)
    history = [Spoken("Sam", "hi"), Spoken("Robin", "yeah", target=True), Spoken("Sam", "hi")]
    ids, labels = transcript.training([*history, Spoken("Robin", "sure", target=True)], 64)
    first_target_of_last_reply = len(ids) - len(transcript.reply("sure")) - 1
    assert labels[first_target_of_last_reply] != IGNORE_INDEX
    assert transcript.prompt(history, "Robin", 64) == ids[:first_target_of_last_reply]
    assert _names(sentencepiece_like, transcript.prompt(history, "Robin", 64))[-2:] == ["Robin", ":"]  # no lone ▁


def test_the_end_of_turn_marker_is_text_even_where_the_tokenizer_has_a_token_of_its_own(sentencepiece_like, tiny_base):
    # Gemma's <end_of_turn> went untrained in an epoch of LoRA and the clone's turns did not end (see render.py)
    assert Transcript(sentencepiece_like).marker == "<eot>"
    assert "<end_of_turn>" not in _names(sentencepiece_like, Transcript(sentencepiece_like).marker_ids)
    tiny = Transcript(transformers.AutoTokenizer.from_pretrained(tiny_base))
    assert (tiny.marker, tiny.stop_token_id) == ("<eot>", tiny.marker_ids[0])  # a word of the tiny vocabulary


def test_the_text_form_marks_the_same_span():
    text = turn_text("Robin", "yeah sure")
    assert text == "Robin: yeah sure<eot>\n"
    start, end = target_span("Robin", "yeah sure")
    assert text[start:end] == " yeah sure<eot>"
