import contextlib
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from gptisyou.cli import cli
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer
from gptisyou.store import ingest
from gptisyou.store.database import Store

if os.environ.get("PYTEST_XDIST_WORKER"):  # one torch thread per worker: two workers on two cores, not four threads
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

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
def loose_umask():
    """The umask most shells have (022), restored afterwards: files gptisyou makes must be private regardless."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def not_private(tree: Path) -> list[str]:
    """Everything under `tree` (itself included) that others may read: folders must be 0700, files 0600."""
    return [
        f"{path} {oct(path.stat().st_mode & 0o777)}"
        for path in [tree, *tree.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & 0o777 != (0o700 if path.is_dir() else 0o600)
    ]


@pytest.fixture
def run():
    """Invoke the CLI in-process; bugs raise (catch_exceptions=False), user errors give exit codes."""

    def invoke(*args: str | os.PathLike, input: str | None = None):
        return CliRunner().invoke(cli, [str(arg) for arg in args], input=input, catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A Gemma 3 of a few thousand parameters with a real (tiny) fast tokenizer, as a model directory."""
    import tokenizers
    import torch
    import transformers

    words = ["<pad>", "<unk>", "<bos>", "Ann", "Bob", ":", "<eot>", *[f"w{i}" for i in range(40)]]
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Sequence(
        [
            tokenizers.pre_tokenizers.WhitespaceSplit(),
            tokenizers.pre_tokenizers.Split(tokenizers.Regex(r"<eot>|\w+|[^\w\s]"), "isolated"),
        ]
    )
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")
    torch.manual_seed(0)
    config = transformers.Gemma3TextConfig(
        vocab_size=len(words),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=256,
        pad_token_id=0,
        initializer_range=0.5,
        query_pre_attn_scalar=16,  # as llama.cpp scales a small Gemma 3's attention: 1/sqrt(head_dim)
    )
    directory = tmp_path_factory.mktemp("tiny-base")
    transformers.Gemma3ForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_llama_gguf(tiny_base, tmp_path_factory):
    """The tiny model as a complete GGUF that llama.cpp loads: every hyperparameter, the vocabulary, and the tensors
    as llama.cpp's Gemma 3 expects them (norm weights stored plus one, as llama.cpp's converter does)."""
    import gguf
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_base, dtype=torch.float32)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_base)
    config = model.config
    path = tmp_path_factory.mktemp("tiny-gguf") / "tiny.gguf"
    writer = gguf.GGUFWriter(path, "gemma3")
    writer.add_name("tiny")
    for add, value in (
        (writer.add_context_length, config.max_position_embeddings),
        (writer.add_embedding_length, config.hidden_size),
        (writer.add_block_count, config.num_hidden_layers),
        (writer.add_feed_forward_length, config.intermediate_size),
        (writer.add_head_count, config.num_attention_heads),
        (writer.add_head_count_kv, config.num_key_value_heads),
        (writer.add_key_length, config.head_dim),
        (writer.add_value_length, config.head_dim),
        (writer.add_layer_norm_rms_eps, config.rms_norm_eps),
        (writer.add_rope_freq_base, config.rope_parameters["full_attention"]["rope_theta"]),
        (writer.add_sliding_window, config.sliding_window),
    ):
        add(value)
    words = [word for word, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])]
    writer.add_tokenizer_model("llama")
    writer.add_token_list(words)
    writer.add_token_scores([0.0] * len(words))
    writer.add_token_types([3 if word in ("<pad>", "<bos>") else 2 if word == "<unk>" else 1 for word in words])
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_unk_token_id(1)
    writer.add_pad_token_id(0)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, config.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        name = names.get_name(hf_name, try_suffixes=(".weight",))
        if name is None or hf_name == "lm_head.weight":  # tied to the embeddings
            continue
        weights = tensor.numpy()
        writer.add_tensor(name, weights + 1 if hf_name.endswith("norm.weight") else weights)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _import_learnable_chat(workspace: Path, folder: Path) -> Store:
    """Ann always answers Bob's wN with w(N+1): a pattern a tiny model can learn in a few steps."""
    start, messages = datetime(2024, 1, 1, 9), []
    for day in range(30):
        for turn in range(6):
            at = start + timedelta(days=day, minutes=turn)
            word = (day + turn) % 38
            messages.append(Message("Bob", at, f"w{word}"))
            messages.append(Message("Ann", at + timedelta(seconds=30), f"w{word + 1}"))
    path = folder / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(messages, path, whatsapp_writer.VARIANTS[0])
    store = Store.open(workspace)
    ingest.import_file(store, path)
    return store


@pytest.fixture
def learnable_chat(workspace, tmp_path):
    with _import_learnable_chat(workspace, tmp_path) as store:
        yield store


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    """The real default base (Gemma 3 270M), converted once for the whole session (about a minute): (workspace,
    store.models.BaseModel)."""
    from gptisyou.store import models as base

    workspace = tmp_path_factory.mktemp("converted")
    return workspace, base.prepare(workspace)


@pytest.fixture(scope="session")
def _trained_template(tmp_path_factory, tiny_base) -> Path:
    """A workspace with the learnable chat and a tiny model trained on it: trained once per test session."""
    from gptisyou.train.local import TrainConfig, train

    folder = tmp_path_factory.mktemp("trained")
    template = folder / "workspace"
    with _import_learnable_chat(template, folder) as store:
        config = TrainConfig("Ann", base=str(tiny_base), max_steps=30, learning_rate=3e-2, batch_tokens=256)
        train(store, template, config)
    return template


@pytest.fixture
def trained(_trained_template, workspace) -> Path:
    """This test's workspace as a copy of the trained template; returns its run directory."""
    import shutil

    shutil.copytree(_trained_template, workspace)
    [run] = (workspace / "runs" / "Ann").iterdir()
    return run


class ScriptedModel:
    """A stand-in causal LM that 'samples' a fixed token sequence: its logits put all mass on the next scripted id."""

    def __init__(self, script: list[int], vocab: int) -> None:
        import torch

        self.script, self.vocab, self.device, self.prompts = script, vocab, torch.device("cpu"), []

    @classmethod
    def saying(cls, text: str, tokenizer) -> "ScriptedModel":
        return cls(tokenizer(text, add_special_tokens=False)["input_ids"], len(tokenizer))

    def eval(self):
        return self

    def __call__(self, input_ids, cache=None, use_cache=True, logits_to_keep=0):
        import torch

        position = 0 if cache is None else cache + 1
        if cache is None:
            self.prompts.append(input_ids[0].tolist())
        logits = torch.full((1, input_ids.shape[1], self.vocab), -1e9)
        logits[0, -1, self.script[min(position, len(self.script) - 1)]] = 0
        return type("Output", (), {"logits": logits, "cache": position})()


@contextlib.contextmanager
def live_server(app):
    """Run an ASGI app under a real uvicorn server on a free port of 127.0.0.1; yields its base URL."""
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the server did not start within 30 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def fake_trained_run(workspace: Path, persona: str = "Ann", samples: list[dict] | None = None):
    """A run that looks trained (a config and adapter files, no weights), and evaluated when `samples` are given:
    enough for the commands that find runs, without training one."""
    import json

    from gptisyou.store.runs import Run, RunConfig

    Store.open(workspace).close()
    run = Run.create(workspace, persona, datetime(2026, 1, 1))
    run.write_config(RunConfig({"persona": persona}, workspace / "models" / "x"))
    run.adapter.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        (run.adapter / name).write_text("{}")
    if samples is not None:
        run.eval_dir.mkdir()
        (run.eval_dir / "metrics.json").write_text(json.dumps({"samples": samples}))
    return run
