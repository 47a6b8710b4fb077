import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from gptisyou import ingest
from gptisyou.cli import cli
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer
from gptisyou.store import Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus" / "whatsapp"


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty workspace through $GPTISYOU_HOME."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("GPTISYOU_HOME", str(home))
    return home


@pytest.fixture
def run():
    """Invoke the CLI in-process; bugs raise (catch_exceptions=False), user errors give exit codes."""

    def invoke(*args: str | os.PathLike):
        return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def tiny_base(tmp_path):
    """A Gemma 3 of a few thousand parameters with a real (tiny) fast tokenizer, as a model directory."""
    import tokenizers
    import torch
    import transformers

    words = ["<pad>", "<unk>", "<bos>", "Ann", "Bob", ":", "<eot>", *[f"w{i}" for i in range(40)]]
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Sequence([
        tokenizers.pre_tokenizers.WhitespaceSplit(),
        tokenizers.pre_tokenizers.Split(tokenizers.Regex(r"<eot>|\w+|[^\w\s]"), "isolated"),
    ])  # fmt: skip
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")
    torch.manual_seed(0)
    config = transformers.Gemma3TextConfig(
        vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, max_position_embeddings=256, pad_token_id=0, initializer_range=0.5,
    )  # fmt: skip
    directory = tmp_path / "tiny-base"
    transformers.Gemma3ForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture
def learnable_chat(workspace, tmp_path):
    """Ann always answers Bob's wN with w(N+1): a pattern a tiny model can learn in a few steps."""
    start, messages = datetime(2024, 1, 1, 9), []
    for day in range(30):
        for turn in range(6):
            at = start + timedelta(days=day, minutes=turn)
            word = (day + turn) % 38
            messages.append(Message("Bob", at, f"w{word}"))
            messages.append(Message("Ann", at + timedelta(seconds=30), f"w{word + 1}"))
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(messages, path, whatsapp_writer.VARIANTS[0])
    with Store.open(workspace) as opened:
        ingest.import_file(opened, path)
        yield opened
