"""The same training code under `accelerate launch`: two CPU processes (gloo) make one run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.usefixtures("learnable_chat")
@pytest.mark.slow  # minutes of CPU: in `make test` and CI, not in `make test-fast`
def test_two_processes_train_like_one_with_twice_the_batch(workspace, tiny_base):
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "0",
    ]
    train = [
        "-m",
        "gptisyou",
        "train",
        "--as",
        "Ann",
        "--base",
        str(tiny_base),
        "--max-steps",
        "4",
        "--dropout",
        "0",
        "--batch-tokens",
        "256",
        "--learning-rate",
        "0.03",
    ]

    def run(command: list[str]) -> Path:
        # both on the CPU, in fp32 or bf16 alike, even where a GPU is present
        finished = subprocess.run(
            command,
            env=os.environ | {"GPTISYOU_HOME": str(workspace), "CUDA_VISIBLE_DEVICES": ""},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr[-3000:]
        return Path(finished.stdout.splitlines()[0].removeprefix("run: "))

    distributed_run = run([*launch, *train])
    assert [path.name for path in (workspace / "runs" / "Ann").iterdir()] == [distributed_run.name]  # main writes
    assert (distributed_run / "adapter" / "adapter_model.safetensors").is_file()
    single_run = run([sys.executable, *train, "--accumulation", "2"])

    def losses(run):
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return [(r["step"], r.get("train_loss", 0), r.get("val_loss", 0)) for r in map(json.loads, lines)]

    distributed, single = losses(distributed_run), losses(single_run)
    assert [step for step, *_ in distributed] == [0, 1, 2, 3, 4]
    # each process took every other micro-batch; averaged gradients equal one process accumulating both
    assert [value for record in distributed for value in record] == pytest.approx(
        [value for record in single for value in record], rel=1e-4
    )
