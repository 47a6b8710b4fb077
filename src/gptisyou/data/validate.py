"""Checking a fine-tuning file against OpenAI's published rules before anything is uploaded.

Chat files: every line a JSON object with a non-empty `messages` list; roles system, user or assistant; string
content that is not empty; `weight` only on assistant messages and only 0 or 1; at least one assistant message
to learn from; no more tokens than the model's training context. Legacy files: string `prompt` and
`completion`. And at least 10 examples in all. Every problem is reported with its line, all at once.
"""

import json
from pathlib import Path

from gptisyou.data.pricing import HOSTED_MODELS, TokenCounter

MIN_EXAMPLES = 10
_ROLES = {"system", "user", "assistant"}
_MESSAGE_KEYS = {"role", "content", "name", "weight"}


def problems(path: Path, model: str, counter: TokenCounter) -> list[str]:
    """Every rule the file breaks, as `file:line: what is wrong`; an empty list for a valid file."""
    found, examples = [], 0
    limit = HOSTED_MODELS[model].max_tokens_per_example
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            examples += 1
            found += [f"{path}:{number}: {problem}" for problem in _record_problems(line, limit, counter)]
    if examples < MIN_EXAMPLES:
        found.append(f"{path}: {examples} examples; OpenAI needs at least {MIN_EXAMPLES}")
    return found


def _record_problems(line: str, limit: int, counter: TokenCounter) -> list[str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        return [f"not valid JSON ({error.msg})"]
    if not isinstance(record, dict):
        return ["not a JSON object"]
    if "messages" in record:
        found = _chat_problems(record["messages"])
    elif "prompt" in record or "completion" in record:
        found = [f"{key} must be a string" for key in ("prompt", "completion") if not isinstance(record.get(key), str)]
    else:
        return ["neither a chat example (messages) nor a prompt/completion pair"]
    if not found and (tokens := counter.record(record)) > limit:
        found.append(f"{tokens:,} tokens, more than the model's {limit:,}")
    return found


def _chat_problems(messages) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return ["messages must be a non-empty list"]
    found = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            found.append(f"{where} is not an object")
            continue
        if unknown := set(message) - _MESSAGE_KEYS:
            found.append(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        if message.get("role") not in _ROLES:
            found.append(f"{where}.role must be system, user or assistant, not {message.get('role')!r}")
        if not isinstance(message.get("content"), str) or not message["content"].strip():
            found.append(f"{where}.content must be non-empty text")
        if "weight" in message and (message.get("role") != "assistant" or message["weight"] not in (0, 1)):
            found.append(f"{where}.weight must be 0 or 1, and only on assistant messages")
    if not any(m.get("role") == "assistant" and m.get("weight", 1) == 1 for m in messages if isinstance(m, dict)):
        found.append("no assistant message to learn from")
    return found
