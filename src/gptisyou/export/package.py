"""Writing a run's clone out: the peft adapter as a zip, or the base with the adapter merged in as a
Hugging Face model directory (safetensors) that transformers loads without gptisyou or peft. Each holds the
model card; everything written is the owner's alone (0600/0700)."""

import zipfile
from pathlib import Path

import torch

from gptisyou.engine.torch_engine import load_tuned, styled
from gptisyou.errors import InputError
from gptisyou.export import gguf_file, ollama
from gptisyou.runs import Run
from gptisyou.store.workspace import make_private
from gptisyou.train.base import source_gguf

CARD_NAME = "README.md"


def adapter_zip(run: Run, out: Path, card: str) -> Path:
    """The run's adapter (peft format: adapter_config.json, adapter_model.safetensors, the tokenizer) and its card."""
    run.require_adapter()
    _refuse_existing(out)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(run.adapter.iterdir()):
            if path.is_file():
                archive.write(path, f"adapter/{path.name}")
        archive.writestr(CARD_NAME, card)
    out.chmod(0o600)
    return out


def merged(run: Run, out: Path, card: str, style_strength: float = 1.0) -> Path:
    """The base model with the adapter's update (scaled by `style_strength`) added to its weights, in fp32
    safetensors with the tokenizer and the card."""
    _refuse_existing(out)
    model, tokenizer = load_tuned(run, torch.device("cpu"), torch.float32)
    with styled(model, style_strength):
        plain = model.merge_and_unload()
    out.mkdir(parents=True, mode=0o700)
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / CARD_NAME).write_text(card, encoding="utf-8")
    return make_private(out)


def gguf(run: Run, out: Path, card: str, target: str, partner: str, quant: str, style_strength: float) -> Path:
    """A GGUF export of a run trained on a GGUF base: merged (`gguf`), the adapter (`lora-gguf`, its card beside it
    as `<name>.md`), or a folder with the merged GGUF, an Ollama Modelfile and the card (`ollama`)."""
    run.require_adapter()
    _refuse_existing(out)
    base = source_gguf(Path(run.config()["base_directory"]))
    if base is None:
        raise InputError(f"{run.directory}: its base model is no GGUF file; export it --to merged instead")
    persona = run.config()["train"]["persona"]
    if target == "ollama":
        out.mkdir(mode=0o700)
        gguf_file.merged(base, run.adapter, out / "model.gguf", quant, style_strength)
        (out / "Modelfile").write_text(ollama.modelfile(persona, partner, "model.gguf"), encoding="utf-8")
        (out / CARD_NAME).write_text(card, encoding="utf-8")
        return make_private(out)
    if target == "lora-gguf":
        gguf_file.lora_adapter(base, run.adapter, out)
    else:
        gguf_file.merged(base, run.adapter, out, quant, style_strength)
    card_file = out.with_suffix(".md")
    card_file.write_text(card, encoding="utf-8")
    card_file.chmod(0o600)
    return out


def _refuse_existing(out: Path) -> None:
    if out.exists():
        raise InputError(f"{out} exists already; choose a new name (nothing is overwritten)")
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such folder")
