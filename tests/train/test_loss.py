import pytest
import torch
import transformers

from gptisyou.train.batches import IGNORE_INDEX
from gptisyou.train.loss import targeted_loss


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = transformers.Gemma3TextConfig(
        vocab_size=97,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=64,
    )
    return transformers.Gemma3ForCausalLM(config).eval()


def _batch():
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, 97, (3, 12), generator=generator)
    labels = input_ids.clone()
    labels[:, :7] = IGNORE_INDEX  # only the end of each row is the persona's
    labels[2] = IGNORE_INDEX  # and one row has nothing to learn
    return input_ids, labels


def test_matches_the_full_logits_loss_and_its_gradients(model):
    input_ids, labels = _batch()
    reference = model(input_ids, labels=labels)
    reference.loss.backward()
    expected_grad = model.lm_head.weight.grad.clone()
    model.zero_grad()

    hidden = model.model(input_ids).last_hidden_state
    loss, correct, count = targeted_loss(
        hidden, model.lm_head, labels, chunk_size=3, softcap=model.config.final_logit_softcapping
    )
    loss.backward()
    assert count == 2 * 5
    assert torch.allclose(loss, reference.loss, atol=1e-6)
    assert torch.allclose(model.lm_head.weight.grad, expected_grad, atol=1e-6)
    predictions = reference.logits[:, :-1].argmax(-1)
    mask = labels[:, 1:] != IGNORE_INDEX
    assert int(correct) == int((predictions[mask] == labels[:, 1:][mask]).sum())
    model.zero_grad()


def test_a_batch_without_targets_gives_zero_and_still_backpropagates(model):
    input_ids, labels = _batch()
    labels[:] = IGNORE_INDEX
    hidden = model.model(input_ids).last_hidden_state
    loss, correct, count = targeted_loss(hidden, model.lm_head, labels)
    loss.backward()
    assert (loss.item(), int(correct), count) == (0.0, 0, 0)
    model.zero_grad()


@pytest.mark.parametrize("softcap", [None, 30.0])
def test_a_frozen_head_gives_the_same_loss_and_body_gradients(model, softcap):
    """LoRA never trains the head: its gradient for the hidden states is then computed up front, chunk by chunk."""
    model.config.final_logit_softcapping = softcap
    model.lm_head.weight.requires_grad_(False)
    probe = model.model.layers[0].mlp.down_proj.weight
    try:
        input_ids, labels = _batch()
        reference = model(input_ids, labels=labels).loss
        reference.backward()
        expected = probe.grad.clone()
        model.zero_grad()
        hidden = model.model(input_ids).last_hidden_state
        loss, _, _ = targeted_loss(hidden, model.lm_head, labels, chunk_size=4, softcap=softcap)
        loss.backward()
        assert torch.allclose(loss, reference, atol=1e-6)
        assert torch.allclose(probe.grad, expected, atol=1e-6)
    finally:
        model.lm_head.weight.requires_grad_(True)
        model.config.final_logit_softcapping = None
        model.zero_grad()
