"""Without an optional extra, each command that needs it says which one to install (exit 4), never a traceback."""

import subprocess
import sys

import pytest

from tests.conftest import fake_trained_run
from tests.data.test_dataset import ANDROID, _chat

BLOCK = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
sys.argv = ["gptisyou", *{args!r}]
from gptisyou.cli import main
main()
"""


@pytest.fixture
def trained_looking(run, workspace, tmp_path):
    """A chat and a run that looks trained: enough for each command to reach the point where it needs torch."""
    from gptisyou.sources import whatsapp_writer

    export = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(_chat(), export, ANDROID)
    assert run("import", export).exit_code == 0
    fake_trained_run(workspace)
    return workspace


def _without(blocked: set[str], *args: str, workspace) -> subprocess.CompletedProcess:
    code = BLOCK.format(blocked=blocked, args=["--workspace", str(workspace), *args])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    "args",
    [
        ("train", "--as", "Ann"),
        ("chat", "--as", "Ann"),
        ("ask", "--as", "Ann", "hi"),
        ("serve", "--as", "Ann"),
        ("eval", "--as", "Ann"),
    ],
    ids=lambda args: args[0],
)
def test_without_torch_each_heavy_command_names_the_train_extra(trained_looking, args):
    result = _without({"torch", "transformers", "peft", "accelerate"}, *args, workspace=trained_looking)
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("needs the 'train' extra: pip install 'gptisyou[train]'")


@pytest.mark.parametrize("command", ["chat", "eval"])
def test_without_llama_cpp_the_llama_engine_names_the_fast_extra(trained_looking, command):
    result = _without({"llama_cpp"}, command, "--as", "Ann", "--engine", "llama.cpp", workspace=trained_looking)
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("needs the 'fast' extra: pip install 'gptisyou[fast]'")


def test_the_hosted_backend_needs_no_torch(trained_looking):
    result = _without(
        {"torch", "transformers", "peft", "accelerate"},
        "ask",
        "--as",
        "Ann",
        "hi",
        "--backend",
        "openai",
        workspace=trained_looking,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == "Error: no API key: set $OPENAI_API_KEY or pass --api-key\n"  # got past every import


def test_without_fastapi_serve_names_the_serve_extra(trained_looking):
    result = _without({"fastapi", "uvicorn"}, "serve", "--as", "Ann", workspace=trained_looking)
    assert result.returncode == 4, result.stderr
    assert "needs the 'serve' extra" in result.stderr


def test_a_llama_cpp_built_with_the_crashing_amx_kernels_is_never_run(trained_looking, run, monkeypatch):
    import types

    from gptisyou.engine import choice, llama_engine
    from gptisyou.store.runs import Run

    amx_build = types.SimpleNamespace(llama_print_system_info=lambda: b"CPU : AVX2 = 1 | AMX_INT8 = 1 | REPACK = 1 | ")
    monkeypatch.setitem(sys.modules, "llama_cpp", amx_build)
    monkeypatch.setattr(llama_engine, "installed", lambda: True)
    monkeypatch.setattr(llama_engine, "_base_gguf", lambda run: trained_looking / "base.gguf")
    llama_engine.has_amx_kernels.cache_clear()
    try:
        assert choice.resolved("auto", Run.latest(trained_looking, "Ann")) == "torch"
        result = run("ask", "--as", "Ann", "hi", "--engine", "llama.cpp")
    finally:
        llama_engine.has_amx_kernels.cache_clear()
    assert result.exit_code == 4
    assert result.output.startswith("Error: this llama-cpp-python was built with llama.cpp's AMX kernels")
    assert "rebuild it without them (`make fast`, or CFLAGS=-mno-amx-int8 CXXFLAGS=-mno-amx-int8 pip install" in (
        result.output
    )
    assert result.output.count("\n") == 1


@pytest.mark.parametrize(("messenger", "library"), [("telegram", "telegram"), ("discord", "discord")])
def test_without_the_bridges_extra_a_bridge_names_it(workspace, messenger, library):
    result = _without({library}, "bridge", messenger, "--as", "Ann", workspace=workspace)
    assert result.returncode == 4, result.stderr
    assert (
        result.stderr.strip().splitlines()[-1].endswith("needs the 'bridges' extra: pip install 'gptisyou[bridges]'")
    )
