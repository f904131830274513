"""The documentation cannot rot: the README's Python example runs as it stands, and the
API reference lists the whole public API (``mkdocs build --strict`` in CI then fails on
any name it cannot resolve or any broken link)."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def _python_block_after(text: str, heading: str) -> str:
    section = text.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs_as_written(tmp_path):
    code = _python_block_after(_read("README.md"), "## From Python, on your own arrays")
    env = dict(os.environ, PYTHONPATH=ROOT, TF_ENABLE_ONEDNN_OPTS="0")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith("Genotype(normal=[")
    assert (tmp_path / "runs" / "readme_darts" / "derived_arc.json").is_file()


def test_the_api_reference_lists_the_whole_public_api():
    import enas_tf
    import tuner

    listed = set(re.findall(r"^::: (\S+)$", _read("docs", "api.md"), re.M))
    public = {f"enas_tf.{name}" for name in enas_tf.__all__} | {
        f"tuner.{name}" for name in tuner.__all__}
    assert public - listed == set(), "add them to docs/api.md"
    assert listed - public == set(), "docs/api.md lists names outside the public API"


def test_every_docs_page_is_in_the_navigation():
    nav = set(re.findall(r":\s*(\S+\.md)\s*$", _read("mkdocs.yml"), re.M))
    pages = {os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "docs"))
             for d, _, files in os.walk(os.path.join(ROOT, "docs")) for f in files
             if f.endswith(".md")}
    assert pages == nav


def test_the_readme_stays_short():
    """Install, the quick start, the tests, two examples and links; the rest is docs/."""
    assert len(_read("README.md").splitlines()) < 200
