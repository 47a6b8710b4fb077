"""`export`: a trained clone out of gptisyou, as an adapter zip or a merged model, with its model card."""

from pathlib import Path

import click

from gptisyou.cli.context import literal, open_store, stderr_console, style_strength_option
from gptisyou.engine.responder import Sampling

_SAMPLING = Sampling()  # the clone's own settings: the hint runs it as chat does

_HOW_TO_RUN = {
    "adapter": """from peft import AutoPeftModelForCausalLM   # the base model must be where adapter_config.json says
from transformers import AutoTokenizer
model = AutoPeftModelForCausalLM.from_pretrained("adapter")
tokenizer = AutoTokenizer.from_pretrained("adapter")""",
    "merged": """from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("{out}")
tokenizer = AutoTokenizer.from_pretrained("{out}")""",
}
_HOW_TO_RUN |= {
    "gguf": f"llama-cli -m {{out}} --temp {_SAMPLING.temperature} --top-p {_SAMPLING.top_p} -r '<eot>'"
    "   # or open it in LM Studio",
    "lora-gguf": "llama-server -m BASE.gguf --lora {out}   # BASE.gguf: the model it was trained on",
    "ollama": "ollama create {name} -f {out}/Modelfile && ollama run {name}",
}
_KINDS = {
    "adapter": "LoRA adapter (peft)",
    "merged": "merged model (safetensors, fp32)",
    "gguf": "merged GGUF model",
    "lora-gguf": "LoRA adapter in llama.cpp's GGUF layout",
    "ollama": "merged GGUF model with an Ollama Modelfile",
}


@click.command()
@click.option("--as", "persona", required=True, help="The persona whose clone to export.")
@click.option(
    "--to",
    "target",
    type=click.Choice(tuple(_KINDS)),
    required=True,
    help="adapter: the peft adapter as a zip; merged: a model folder transformers loads as it is; gguf: "
    "one file for llama.cpp and LM Studio; lora-gguf: the adapter for llama.cpp's --lora; ollama: "
    "a folder with the GGUF and a Modelfile.",
)
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="The file or new folder to write; never overwritten.",
)
@click.option(
    "--quant",
    type=click.Choice(("f16", "q8_0")),
    default="f16",
    show_default=True,
    help="How a GGUF export stores the tensors the adapter changed (the rest keep the base's).",
)
@click.option(
    "--run",
    "run_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A run directory (default: the persona's latest run).",
)
@style_strength_option
@click.pass_context
def export(
    ctx: click.Context, persona: str, target: str, out: Path, quant: str, run_dir: Path | None, style_strength: float
) -> None:
    """Export the clone of PERSONA with a model card (base, data period, last evaluation, how to run it).

    The card holds names, dates and figures, never the chat's text. Share a clone only with the person's consent.
    """
    from gptisyou.errors import MissingExtra
    from gptisyou.store.runs import Run
    from gptisyou.store.workspace import file_name_for

    try:
        from gptisyou.export import model_card, package
    except ImportError as missing:
        raise MissingExtra.from_import(missing, "export") from None
    run = Run.chosen(ctx.obj["workspace"], persona, run_dir)
    how = _HOW_TO_RUN[target].format(out=out, name=file_name_for(persona).lower())
    with open_store(ctx) as store:
        facts = model_card.CardFacts.of(store, persona, _KINDS[target], how)
    text = model_card.card(run, facts)
    with stderr_console(ctx).status(literal(f"writing {persona}'s {target}…")):
        if target == "adapter":
            written_to = package.adapter_zip(run, out, text)
        elif target == "merged":
            written_to = package.merged(run, out, text, style_strength)
        else:
            written_to = package.gguf(run, out, text, target, facts.partner, quant, style_strength)
    click.echo(f"{written_to} ({_KINDS[target]}, with its model card)")
