"""GGUF exports, for llama.cpp, LM Studio and Ollama: the base GGUF with the LoRA update added to the tensors it
changes (merged), or the update alone in llama.cpp's LoRA adapter layout.

A merged export keeps every metadata key of the base, its tokenizer included, and every tensor the adapter does
not touch byte for byte, in the base's own quantization. A changed tensor is dequantized, gets its update
(B·A · alpha/r, times the style strength) and is written as f16, or q8_0 with `quant="q8_0"`. Re-quantizing to
the base's Q4_K/Q5_0 is not offered: the `gguf` package can read those formats but not write them.
"""

import json
from pathlib import Path

import numpy as np

from gptisyou.errors import InputError

QUANTS = ("f16", "q8_0")


def lora_factors(adapter: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """({Hugging Face weight name: (A [r, in], B [out, r])}, the scale alpha/r) of a peft LoRA adapter."""
    from safetensors.numpy import load_file

    config = json.loads((adapter / "adapter_config.json").read_text())
    rank, alpha = config["r"], config["lora_alpha"]
    scale = alpha / (rank**0.5 if config.get("use_rslora") else rank)
    state = load_file(adapter / "adapter_model.safetensors")
    factors = {}
    for key, a in state.items():
        if key.endswith(".lora_A.weight"):
            module = key.removesuffix(".lora_A.weight")
            name = module.removeprefix("base_model.model.") + ".weight"
            factors[name] = (a.astype(np.float32), state[module + ".lora_B.weight"].astype(np.float32))
    return factors, scale


def merged(base: Path, adapter: Path, out: Path, quant: str = "f16", style_strength: float = 1.0) -> Path:
    """Write the base GGUF with the adapter's update added into `out`."""
    import gguf

    reader = gguf.GGUFReader(base)
    factors, scale = lora_factors(adapter)
    by_tensor = _by_gguf_name(reader, factors)
    writer = gguf.GGUFWriter(out, _architecture(reader))
    _copy_metadata(reader, writer)
    for tensor in reader.tensors:
        if tensor.name not in by_tensor:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
            continue
        a, b = by_tensor[tensor.name]
        weights = gguf.quants.dequantize(tensor.data, tensor.tensor_type) + (b @ a) * (scale * style_strength)
        if quant == "q8_0":
            writer.add_tensor(
                tensor.name,
                gguf.quants.quantize(weights, gguf.GGMLQuantizationType.Q8_0),
                raw_dtype=gguf.GGMLQuantizationType.Q8_0,
            )
        else:
            writer.add_tensor(tensor.name, weights.astype(np.float16))
    _write(writer)
    out.chmod(0o600)
    return out


def lora_adapter(base: Path, adapter: Path, out: Path) -> Path:
    """Write the adapter as a llama.cpp LoRA GGUF (`llama-server -m base.gguf --lora out`): for each changed
    tensor `<name>.lora_a` [r, in] and `<name>.lora_b` [out, r], with `adapter.lora.alpha`."""
    import gguf

    reader = gguf.GGUFReader(base)
    factors, scale = lora_factors(adapter)
    by_tensor = _by_gguf_name(reader, factors)
    rank = next(iter(factors.values()))[0].shape[0]
    writer = gguf.GGUFWriter(out, _architecture(reader))
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(scale * rank))  # llama.cpp scales by alpha / rank
    for name, (a, b) in sorted(by_tensor.items()):
        writer.add_tensor(f"{name}.lora_a", a)
        writer.add_tensor(f"{name}.lora_b", b)
    _write(writer)
    out.chmod(0o600)
    return out


def _architecture(reader) -> str:
    return str(reader.fields["general.architecture"].contents())


def _by_gguf_name(reader, factors: dict) -> dict:
    """The factors keyed by the GGUF tensor they change (`model.layers.0.self_attn.q_proj.weight` → `blk.0.attn_q.weight`)."""
    import gguf

    architecture = _architecture(reader)
    arch = next((arch for arch, name in gguf.MODEL_ARCH_NAMES.items() if name == architecture), None)
    blocks = int(reader.fields[f"{architecture}.block_count"].contents())
    if arch is None:
        raise InputError(f"the base GGUF's architecture '{architecture}' is unknown to the gguf package")
    names = gguf.get_tensor_name_map(arch, blocks)
    present = {tensor.name for tensor in reader.tensors}
    by_tensor = {}
    for hf_name, pair in factors.items():
        name = names.get_name(hf_name, try_suffixes=(".weight",))
        if name is None or name not in present:
            raise InputError(f"the adapter changes '{hf_name}', which the base GGUF does not have")
        by_tensor[name] = pair
    return by_tensor


def _copy_metadata(reader, writer) -> None:
    """Every key of the base but the ones the writer sets itself."""
    import gguf

    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)


def _write(writer) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
