"""export: the adapter as a zip, and the merged model that transformers loads alone, each with its model card."""

import zipfile

import torch
import transformers

from gptisyou.engine.torch_engine import load_tuned
from gptisyou.store.runs import Run
from tests.conftest import not_private


def test_the_merged_model_gives_the_base_plus_adapter_logits(trained, workspace, run, tmp_path, loose_umask):
    out = tmp_path / "ann-hf"
    result = run("export", "--as", "Ann", "--to", "merged", "-o", out)
    assert result.exit_code == 0, result.output
    tuned, tokenizer = load_tuned(Run(trained), torch.device("cpu"), torch.float32)
    merged = transformers.AutoModelForCausalLM.from_pretrained(out)  # no peft, no gptisyou
    ids = torch.tensor([tokenizer("Bob: w5<eot>\nAnn:", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        expected, got = tuned(input_ids=ids).logits, merged(input_ids=ids).logits
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)  # fp32 merge: rounding only
    assert transformers.AutoTokenizer.from_pretrained(out)("w5")["input_ids"] == tokenizer("w5")["input_ids"]
    assert not not_private(out)
    assert run("export", "--as", "Ann", "--to", "merged", "-o", out).exit_code == 2  # never overwritten


def test_the_adapter_zip_holds_the_peft_adapter_and_a_card_without_chat_text(trained, workspace, run, tmp_path):
    out = tmp_path / "ann-adapter.zip"
    result = run("export", "--as", "Ann", "--to", "adapter", "-o", out)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        card = archive.read("README.md").decode()
    assert {"adapter/adapter_config.json", "adapter/adapter_model.safetensors", "README.md"} <= names
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert "# Ann: a gptisyou clone" in card
    assert "Share it only with Ann's consent" in card
    assert "2024-01-01 to 2024-01-30" in card  # the learnable chat's period
    assert "Bob: how was your day?<eot>\nAnn:" in card
    assert "Not evaluated yet" in card
    assert " w1" not in card  # no message of the chat
