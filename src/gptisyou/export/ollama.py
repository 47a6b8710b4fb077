"""An Ollama Modelfile for a merged GGUF: the conversation rendered exactly as training rendered it.

The template is built from the training renderer itself (`render.turn_text`) with Go template actions in place
of the speaker and the text, so the two cannot drift apart: each message is `Name: text<eot>` and a line break,
and the prompt ends with `Persona:`. Training had no system prompt, so system messages are left out. The stops
are the end-of-turn marker and the other person's header; the sampling defaults are the ones gptisyou uses.

Names come from the chat and may hold anything: in the template each is a Go string literal inside an action
(`{{ "Ann" }}`), escaped as JSON escapes it, so neither `{{` nor three quotes nor a line break in a name can change
the template or end the Modelfile's triple-quoted block.
"""

import json

from gptisyou.data.render import END_OF_TURN_TEXT, turn_text
from gptisyou.engine.responder import Sampling, reply_length


def template(persona: str, partner: str) -> str:
    """The Go template of the conversation: every non-system message as a turn, then the persona's header."""
    persona_, partner_ = _literal(persona), _literal(partner)
    speaker = f'{{{{ if eq .Role "assistant" }}}}{persona_}{{{{ else }}}}{partner_}{{{{ end }}}}'
    turn = turn_text(speaker, "{{ .Content }}")
    return f'{{{{ range .Messages }}}}{{{{ if ne .Role "system" }}}}{turn}{{{{ end }}}}{{{{ end }}}}{persona_}:'


def modelfile(persona: str, partner: str, gguf_name: str, reply_tokens: int | None = None) -> str:
    """The Modelfile; `reply_tokens`: the longest reply (the persona's own longest turns, as the run recorded)."""
    sampling = Sampling()
    stops = [END_OF_TURN_TEXT, f"\n{partner}:"]
    lines = [
        f"FROM ./{gguf_name}",
        f'TEMPLATE """{template(persona, partner)}"""',
        *(f"PARAMETER stop {_quoted(stop)}" for stop in stops),
        f"PARAMETER temperature {sampling.temperature}",
        f"PARAMETER top_p {sampling.top_p}",
        f"PARAMETER num_predict {reply_length(reply_tokens)}",
    ]
    return "\n".join(lines) + "\n"


def _literal(text: str) -> str:
    """`text` as a Go template action that prints it: a Go string literal (JSON's escapes are Go's too)."""
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
