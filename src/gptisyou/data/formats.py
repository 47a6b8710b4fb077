"""Rendering a persona's examples for each destination, and writing them to a file.

- `openai`: chat JSONL for hosted fine-tuning. The persona is `assistant` (weight 1 on turns with words, 0 on
  media-only ones), everyone else `user` (prefixed with their name in group chats), after a short system line.
- `legacy`: the original prompt/completion form: the last turns as `Name: text` lines ending in `\\n\\n###\\n\\n`,
  and the completion ` reply ###`.
- `sharegpt`: `{"conversations": [{"from": "system" | "human" | "gpt", "value": …}]}`.
- `local`: `Name: text` transcripts with the character spans the model is trained on (the persona's turns and
  their end-of-turn marker), for `gptisyou train`.
- `hf`: the `local` records as a Hugging Face `datasets` dataset saved to a directory (`load_from_disk`).
"""

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from gptisyou.data import render
from gptisyou.data.conversations import Session
from gptisyou.data.dataset import Example, PersonaData, is_target
from gptisyou.errors import InputError, MissingExtra
from gptisyou.store.workspace import built_whole, written_whole

FORMATS = ("openai", "legacy", "sharegpt", "local", "hf")
SYSTEM_LINE = "You are {persona}. Reply as {persona} would in this chat."
LEGACY_SEPARATOR = "\n\n###\n\n"
LEGACY_STOP = " ###"


def records(data: PersonaData, format_name: str, context_turns: int = 8) -> Iterator[dict]:
    if format_name == "legacy":
        yield from legacy_records(data.train, data.persona, context_turns)
        return
    render = {"openai": openai_record, "sharegpt": sharegpt_record, "local": local_record, "hf": local_record}[
        format_name
    ]
    for example in data.examples:
        yield render(example, data.persona, data.group)


def openai_messages(turns: Iterable[tuple[str, str]], persona: str, group: bool) -> list[dict]:
    """(speaker, text) turns as OpenAI chat messages: the one rendering for training a hosted model and for
    prompting it afterwards. The persona is `assistant`; everyone else `user`, named in a group chat."""
    messages = [{"role": "system", "content": SYSTEM_LINE.format(persona=persona)}]
    for speaker, text in turns:
        if speaker == persona:
            messages.append({"role": "assistant", "content": text})
        else:
            messages.append({"role": "user", "content": f"{speaker}: {text}" if group else text})
    return messages


def openai_record(example: Example, persona: str, group: bool) -> dict:
    """The example's messages, the persona's media-only turns weighted 0 (context, never learned)."""
    messages = openai_messages(((turn.sender, turn.text) for turn in example.turns), persona, group)
    for message, turn in zip(messages[1:], example.turns, strict=True):
        if message["role"] == "assistant":
            message["weight"] = int(turn.has_words)
    return {"messages": messages}


def sharegpt_record(example: Example, persona: str, group: bool) -> dict:
    conversation = [{"from": "system", "value": SYSTEM_LINE.format(persona=persona)}]
    for turn in example.turns:
        if turn.sender == persona:
            conversation.append({"from": "gpt", "value": turn.text})
        else:
            conversation.append({"from": "human", "value": f"{turn.sender}: {turn.text}" if group else turn.text})
    return {"conversations": conversation}


def local_record(example: Example, persona: str, group: bool = True) -> dict:
    """A transcript and the [start, end) character spans to train on: each persona reply (from the space before
    its first word, as `render` trains it) and its end marker."""
    text, targets = [], []
    position = 0
    for turn in example.turns:
        rendered = render.turn_text(turn.sender, turn.text)
        if is_target(turn, persona):
            start, end = render.target_span(turn.sender, turn.text)
            targets.append([position + start, position + end])
        text.append(rendered)
        position += len(rendered)
    return {"chat": example.chat_id, "text": "".join(text), "targets": targets}


def legacy_records(sessions: Iterable[Session], persona: str, context_turns: int) -> Iterator[dict]:
    """One record per persona turn with words that has something before it to reply to."""
    for session in sessions:
        for index, turn in enumerate(session.turns):
            if turn.sender != persona or not turn.has_words or index == 0:
                continue
            context = session.turns[max(0, index - context_turns) : index]
            prompt = "\n".join(f"{earlier.sender}: {earlier.text}" for earlier in context) + LEGACY_SEPARATOR
            yield {"prompt": prompt, "completion": f" {turn.text}{LEGACY_STOP}"}


def write_jsonl(rows: Iterable[dict], path: Path) -> int:
    """Write rows as JSON lines, readable by the owner only; all or nothing. Returns the number of rows.

    Raises:
        InputError: `path` is a folder, a device or other special file, or its folder does not exist.
    """
    count = 0
    with written_whole(_regular_file_target(Path(path)), newline="\n") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_hf(rows: list[dict], path: Path) -> int:
    """Save rows as a Hugging Face dataset directory, readable by the owner only; all or nothing."""
    try:
        import datasets  # heavy: only for this format
    except ImportError:
        raise MissingExtra("train", "the hf format") from None
    path = Path(path)
    _check_folder_target(path)
    with built_whole(path) as partial:
        datasets.Dataset.from_list(rows).save_to_disk(str(partial))
    return len(rows)


def _regular_file_target(path: Path) -> Path:
    """Where a file written through a temporary file and a rename can go: a new or regular file (a link to one is
    followed) in an existing folder. Devices, pipes and folders are refused, never replaced."""
    target = path.resolve() if path.is_symlink() else path
    if target.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    if target.exists() and not target.is_file():
        raise InputError(f"{path}: is a device or other special file; give a regular file")
    _check_parent(path, target)
    return target


def _check_folder_target(path: Path) -> None:
    """A dataset folder replaces only an earlier saved dataset, never a folder of anything else."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / "dataset_info.json").is_file():
        raise InputError(f"{path}: a folder that holds something other than a saved dataset; give a new folder")
    _check_parent(path, path)


def _check_parent(given: Path, target: Path) -> None:
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{given}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{given}: cannot write in the folder {parent} (permission denied)")
