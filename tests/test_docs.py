"""The documentation cannot rot: the API reference lists the whole public API
(``mkdocs build --strict`` in CI then fails on any name it cannot resolve or any broken
link), docstrings use the Markdown the reference renders, and every page is reachable.
The Python blocks of the README and the pages run in ``test_docs_snippets.py``."""

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


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


def test_docstrings_write_code_as_markdown_fences():
    """A reST literal block (a line ending in ``::``) shows its ``::`` in the API reference;
    Keras's form, ``Example:`` and a fenced block, renders as code."""
    literal = re.compile(r"::\s*$", re.M)
    found = []
    for folder in ("enas_tf", "tuner"):
        for parent, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in (f for f in files if f.endswith(".py")):
                path = os.path.join(parent, name)
                for node in ast.walk(ast.parse(_read(path), path)):
                    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                         ast.AsyncFunctionDef)):
                        doc = ast.get_docstring(node, clean=False) or ""
                        if literal.search(doc):
                            found.append(f"{os.path.relpath(path, ROOT)}:"
                                         f"{getattr(node, 'name', '<module>')}")
    assert found == []
