"""Writing a run's clone out: the peft adapter as a zip, or the base with the adapter merged in as a
Hugging Face model directory (safetensors) that transformers loads without gptisyou or peft. Each holds the
model card; everything written is the owner's alone (0600/0700)."""

import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from gptisyou.engine import gguf_file
from gptisyou.engine.torch_engine import load_tuned, styled
from gptisyou.errors import InputError
from gptisyou.export import ollama
from gptisyou.store.models import source_gguf
from gptisyou.store.runs import Run
from gptisyou.store.workspace import make_private

CARD_NAME = "README.md"


def adapter_zip(run: Run, out: Path, card: str) -> Path:
    """The run's adapter (peft format: adapter_config.json, adapter_model.safetensors, the tokenizer) and its card."""
    run.require_adapter()
    with new_paths(out) as [partial]:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(run.adapter.iterdir()):
                if path.is_file():
                    archive.write(path, f"adapter/{path.name}")
            archive.writestr(CARD_NAME, card)
        partial.chmod(0o600)
    return out


def merged(run: Run, out: Path, card: str, style_strength: float = 1.0) -> Path:
    """The base model with the adapter's update (scaled by `style_strength`) added to its weights, in fp32
    safetensors with the tokenizer and the card."""
    with new_paths(out) as [partial]:
        model, tokenizer = load_tuned(run, torch.device("cpu"), torch.float32)
        with styled(model, style_strength):
            plain = model.merge_and_unload()
        partial.mkdir(mode=0o700)
        plain.save_pretrained(partial, safe_serialization=True)
        tokenizer.save_pretrained(partial)
        (partial / CARD_NAME).write_text(card, encoding="utf-8")
        make_private(partial)
    return out


def gguf(run: Run, out: Path, card: str, target: str, partner: str, quant: str, style_strength: float) -> Path:
    """A GGUF export of a run trained on a GGUF base: merged (`gguf`), the adapter (`lora-gguf`), each with its
    card beside it as `<stem>.md`, or a folder with the merged GGUF, an Ollama Modelfile and the card (`ollama`)."""
    run.require_adapter()
    recorded = run.config()
    base = source_gguf(recorded.base_directory)
    if base is None:
        raise InputError(f"{run.directory}: its base model is no GGUF file; export it --to merged instead")
    persona = recorded.persona
    if target == "ollama":
        with new_paths(out) as [partial]:
            partial.mkdir(mode=0o700)
            gguf_file.merged(base, run.adapter, partial / "model.gguf", quant, style_strength)
            (partial / "Modelfile").write_text(
                ollama.modelfile(persona, partner, "model.gguf", recorded.reply_tokens), encoding="utf-8"
            )
            (partial / CARD_NAME).write_text(card, encoding="utf-8")
            make_private(partial)
        return out
    with new_paths(out, card_beside(out)) as [partial, card_partial]:
        if target == "lora-gguf":
            gguf_file.lora_adapter(base, run.adapter, partial)
        else:
            gguf_file.merged(base, run.adapter, partial, quant, style_strength)
        card_partial.write_text(card, encoding="utf-8")
        make_private(partial)
        make_private(card_partial)
    return out


def card_beside(out: Path) -> Path:
    """Where a one-file export's model card goes: `<stem>.md` beside it.

    Raises:
        InputError: the export itself is named `.md`.
    """
    card = out.with_suffix(".md")
    if card == out:
        raise InputError(
            f"{out}: the model card of a one-file export is written to <name>.md; name the model "
            "otherwise (e.g. .gguf)"
        )
    return card


@contextmanager
def new_paths(*paths: Path) -> Iterator[list[Path]]:
    """Temporary names beside `paths` to write to; renamed to `paths` when the block succeeds. Anything that exists
    at a path (a dangling link too) is refused before anything is written, and whatever fails (a full disk,
    Ctrl-C) leaves nothing behind, so a rerun starts clean."""
    for path in paths:
        _refuse_existing(path)
    # named after this process: two exports to one path at once never write into the same temporary file
    partials = [path.with_name(f".{path.name}.{os.getpid()}.partial") for path in paths]
    done: list[Path] = []
    try:
        for partial in partials:
            _remove(partial)  # left by a killed process whose id this one now has
        yield partials
        for partial, path in zip(partials, paths, strict=True):
            _refuse_existing(path)  # made by someone else meanwhile
            partial.rename(path)
            done.append(path)
    except BaseException:
        for path in [*partials, *done]:
            _remove(path)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _refuse_existing(out: Path) -> None:
    if out.exists() or out.is_symlink():
        raise InputError(f"{out} exists already; choose a new name (nothing is overwritten)")
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such folder")
