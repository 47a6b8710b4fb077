"""A hosted fine-tune, step by step: plan (nothing sent) → upload → job → follow → results → forget.

`plan` builds the persona's dataset (redacted by default), validates it against OpenAI's rules, counts its
tokens and prices it: what the user is shown before consenting. Only `start` sends anything, and every file,
job and model it makes is recorded in the workspace first thing, so `forget` can delete them at the provider,
failed attempts included.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gptisyou.data import formats as dataset_formats
from gptisyou.data import pricing, validate
from gptisyou.data.dataset import DatasetConfig, build, windows
from gptisyou.errors import InputError
from gptisyou.hosted.providers import LEGACY_MODELS, Endpoint, describe_error, provider_errors
from gptisyou.store.database import Store
from gptisyou.store.workspace import ensure_private_dir, file_name_for, hosted_dir

FINISHED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class Plan:
    """What would be sent: shown to the user before they agree."""

    persona: str
    model: str
    epochs: int
    format: str  # openai (chat) or legacy (prompt/completion)
    group: bool  # a group chat: the other speakers' turns carry their names (the hosted clone prompts the same way)
    train_file: Path
    validation_file: Path | None
    examples: int
    validation_examples: int
    tokens: int  # in the training file, counted like the provider does (see pricing)
    cost_usd: float | None  # None: the model is not in the price table
    redacted: bool
    replaced_values: int  # personal data and third-party names the redaction replaced
    token_method: str


def plan(store: Store, workspace: Path, persona: str, model: str, epochs: int, redact: bool = True) -> Plan:
    """Build, validate, count and price the upload; writes the files into the workspace, sends nothing.

    Raises:
        InputError: an unknown persona, or a dataset the provider would reject (the problems are listed).
    """
    format_name = "legacy" if model in LEGACY_MODELS else "openai"
    config = DatasetConfig(persona, redact=redact)
    data = build(store, config)
    directory = ensure_private_dir(
        hosted_dir(workspace, persona) / datetime.now().strftime("%Y%m%d-%H%M%S"), inside=workspace
    )
    train_file = directory / "train.jsonl"
    rows = list(dataset_formats.records(data, format_name))
    dataset_formats.write_jsonl(rows, train_file)
    validation_rows = _validation_rows(data, format_name, config)
    validation_file = directory / "validation.jsonl" if validation_rows else None
    if validation_file:
        dataset_formats.write_jsonl(validation_rows, validation_file)
    counter = pricing.token_counter(model)
    priced = model if model in pricing.HOSTED_MODELS else pricing.DEFAULT_MODEL
    found = validate.problems(train_file, priced, counter)
    if found:
        raise InputError("the dataset would be rejected: " + "; ".join(found[:3]))
    tokens = sum(counter.record(row) for row in rows)
    cost = pricing.training_cost_usd(tokens, model, epochs) if model in pricing.HOSTED_MODELS else None
    replaced = len(data.redactor.mapping) if data.redactor else 0
    data.save_redaction_map(workspace)
    return Plan(
        persona,
        model,
        epochs,
        format_name,
        data.group,
        train_file,
        validation_file,
        len(rows),
        len(validation_rows),
        tokens,
        cost,
        redact,
        replaced,
        counter.method,
    )


def _validation_rows(data, format_name: str, config: DatasetConfig) -> list[dict]:
    """The held-out sessions in the upload's format: the provider reports validation loss on them."""
    if format_name == "legacy":
        return list(dataset_formats.legacy_records(data.val, data.persona, config.context_turns))
    examples = windows(data.val, data.persona, config.window_turns, None, None)
    return [dataset_formats.openai_record(example, data.persona, data.group) for example in examples]


def start(store: Store, target: Endpoint, client, plan: Plan, hyperparameters: dict | None = None) -> str:
    """Upload the files and create the job; returns the job id. Each remote object is recorded as it appears.

    Raises:
        RemoteError: the provider refused or failed (a 403 on job creation explains the fine-tuning wind-down).
    """
    files = {}
    for role, path in (("training", plan.train_file), ("validation", plan.validation_file)):
        if path is None:
            continue
        with provider_errors("upload"), open(path, "rb") as handle:
            uploaded = client.files.create(file=handle, purpose="fine-tune")
        store.remote.record(target.base_url, "file", uploaded.id, plan.persona, name=path.name, role=role)
        files[role] = uploaded.id
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": plan.epochs, **(hyperparameters or {})}},
    }
    with provider_errors("job creation"):
        job = client.fine_tuning.jobs.create(
            model=plan.model,
            training_file=files["training"],
            validation_file=files.get("validation"),
            method=method,
            suffix=_suffix(plan.persona),
        )
    store.remote.record(
        target.base_url,
        "job",
        job.id,
        plan.persona,
        model=plan.model,
        status=job.status,
        files=list(files.values()),
        group=plan.group,
    )
    return job.id


def follow(
    store: Store,
    target: Endpoint,
    client,
    job_id: str,
    on_event: Callable[[str], None],
    poll_seconds: float = 10.0,
    timeout_seconds: float | None = None,
):
    """Poll the job until it finishes, passing each new event's message to `on_event`; returns the final job."""
    seen: set[str] = set()
    started = time.monotonic()
    while True:
        job = retrieve(store, target, client, job_id)
        for event in events(client, job_id):
            if event.id not in seen:
                seen.add(event.id)
                on_event(event.message)
        if job.status in FINISHED or (timeout_seconds and time.monotonic() - started > timeout_seconds):
            return job
        time.sleep(poll_seconds)


def events(client, job_id: str) -> list:
    """The provider's latest 100 events of the job, oldest first."""
    with provider_errors("events"):
        return list(reversed(list(client.fine_tuning.jobs.list_events(job_id, limit=100))))  # newest first there


def retrieve(store: Store, target: Endpoint, client, job_id: str):
    """The job as the provider sees it now; its status and model id are recorded."""
    with provider_errors("job lookup"):
        job = client.fine_tuning.jobs.retrieve(job_id)
    persona = persona_of(store, target, job_id)
    store.remote.record(target.base_url, "job", job.id, persona, status=job.status)
    if job.fine_tuned_model:
        store.remote.record(target.base_url, "model", job.fine_tuned_model, persona, job=job.id, base=job.model)
    for result_file in job.result_files or ():  # the provider's files about our job: forget deletes them too
        store.remote.record(target.base_url, "file", result_file, persona, role="results", job=job.id)
    return job


def cancel(store: Store, target: Endpoint, client, job_id: str):
    with provider_errors("cancel"):
        job = client.fine_tuning.jobs.cancel(job_id)
    store.remote.record(target.base_url, "job", job.id, persona_of(store, target, job_id), status=job.status)
    return job


@dataclass(frozen=True, slots=True)
class StepResult:
    step: int
    train_loss: float | None
    train_accuracy: float | None
    valid_loss: float | None
    valid_accuracy: float | None


def results(store: Store, target: Endpoint, client, job_id: str) -> list[StepResult]:
    """Training loss and token accuracy per step, from the job's result file (a CSV the provider writes).

    Raises:
        InputError: the job has no result file yet.
    """
    import csv
    import io

    job = retrieve(store, target, client, job_id)
    if not job.result_files:
        raise InputError(f"job {job_id} has no results yet (status: {job.status})")
    with provider_errors("result download"):
        content = client.files.content(job.result_files[0]).text
    return [
        StepResult(
            int(row["step"]),
            _number(row.get("train_loss")),
            _number(row.get("train_accuracy")),
            _number(row.get("valid_loss")),
            _number(row.get("valid_mean_token_accuracy") or row.get("valid_accuracy")),
        )
        for row in csv.DictReader(io.StringIO(content))
    ]


def forget(
    store: Store,
    target: Endpoint,
    client,
    persona: str | None,
    on_deleted: Callable[[str, str], None] = lambda kind, remote_id: None,
) -> list[str]:
    """Delete at the provider every file and fine-tuned model recorded for the persona (or everyone), and cancel
    running jobs; returns what could not be deleted. A 404 counts as deleted: it is gone either way."""
    import openai

    failed = []
    for remote in store.remote.objects(persona, include_deleted=False):
        if remote.provider != target.base_url:
            continue
        try:
            if remote.kind == "job":
                if remote.detail.get("status") not in FINISHED:
                    client.fine_tuning.jobs.cancel(remote.remote_id)
            elif remote.kind == "file":
                client.files.delete(remote.remote_id)
            else:
                client.models.delete(remote.remote_id)
        except openai.NotFoundError:
            pass
        except openai.APIError as error:
            failed.append(f"{remote.kind} {remote.remote_id}: {describe_error(error)}")
            continue
        store.remote.deleted(remote.provider, remote.kind, remote.remote_id)
        on_deleted(remote.kind, remote.remote_id)
    return failed


def forget_everywhere(
    store: Store,
    persona: str | None,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    on_deleted: Callable[[str, str], None] = lambda kind, remote_id: None,
) -> list[str]:
    """`forget` at every provider the persona's (or everyone's) uploads went to, or only at `base_url`: the remote
    part of `store.forget.forget`. Returns what could not be deleted."""
    from gptisyou.hosted.providers import client, endpoint

    providers = {remote.provider for remote in store.remote.objects(persona, include_deleted=False)}
    failed = []
    for url in sorted({base_url} if base_url else providers):
        target = endpoint(provider, url, api_key)
        failed += forget(store, target, client(target), persona, on_deleted)
    return failed


def persona_of(store: Store, target: Endpoint, job_id: str) -> str:
    """Whose job `job_id` at `target` is.

    Raises:
        InputError: the job was not started from this workspace there.
    """
    for remote in store.remote.objects(kind="job"):
        if (remote.provider, remote.remote_id) == (target.base_url, job_id):
            return remote.persona
    raise InputError(f"job {job_id} was not started from this workspace at {target.base_url}")


def _suffix(persona: str) -> str:
    return ("gptisyou-" + file_name_for(persona).lower())[:40]


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None
