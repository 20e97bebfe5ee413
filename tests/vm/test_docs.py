"""The shell blocks of docs/ marked `<!-- tested: NAME -->` run as written inside the
guest (one boot for all of them), with GUEST_CID=1 (vsock loopback) and the project's
virtual environment first on PATH; each must print what its page promises."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.vm.harness import Guest, Result

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"<!-- tested: (\w+) -->\s*```sh\n(.*?)```", re.S)
EXPECTED = {"vsock": "hello over vsock", "tipc": "hello over tipc"}


def blocks() -> dict[str, str]:
    found: dict[str, str] = {}
    for page in sorted(DOCS.glob("*.md")):
        for name, body in BLOCK.findall(page.read_text()):
            found[name] = body
    return found


@pytest.fixture(scope="module")
def run(guest: Guest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    share = tmp_path_factory.mktemp("docs")
    venv_bin = shlex.quote(str(Path(sys.executable).parent))
    script = [f"export PATH={venv_bin}:$PATH GUEST_CID=1"]
    for name, body in blocks().items():
        out = share / f"{name}.out"
        # the block's background server outlives its subshell until the guest powers off
        script.append(f"( {body} ) >{out} 2>&1")
    return guest.run("\n".join(script) + "\n", timeout=200, share=share), share


def test_every_tested_block_is_known() -> None:
    assert set(blocks()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_block_does_what_the_page_says(run: tuple[Result, Path], name: str) -> None:
    result, share = run
    out = share / f"{name}.out"
    text = out.read_text() if out.exists() else ""
    assert EXPECTED[name] in text, f"{name}: {text!r}\nstdout: {result.stdout}\nstderr: {result.stderr}"
