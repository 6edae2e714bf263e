"""Build the API reference of linrelu from its docstrings with pdoc.

    python docs/build_api.py [OUTPUT_DIR]        # default: build/api; open OUTPUT_DIR/index.html

Every public module (no path component starting with ``_``) is documented, including the
submodules that ``linrelu.__all__`` does not name (pdoc alone would follow ``__all__`` and skip
them). The build fails (exit status 1) on any pdoc warning (a module that does not import, a
docstring pdoc cannot parse) and on a broken reference: a backquoted ``linrelu.…`` name in a
docstring that does not resolve to a module or an attribute, or a link between the generated
pages that points to no page.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
import warnings
from pathlib import Path

REFERENCE = re.compile(r"`(linrelu(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")


def public_modules(package: str = "linrelu") -> list[str]:
    """``package`` and every submodule of it whose dotted name has no part starting with ``_``."""
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` names an importable module or an attribute of one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


_ANNOTATION = re.compile(
    r"Error parsing type annotation .* for ([\w.]+)\. Import of ([\w.]+) failed")


def defining_module(dotted: str):
    """The longest importable prefix of ``dotted``, imported."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            return importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
    return None


def spurious(message: str) -> bool:
    """A pdoc warning about an annotation that does resolve in the module that wrote it.

    pdoc evaluates some annotations in a foreign namespace: those of the ``__init__`` that
    ``typing.NamedTuple`` generates (strings under ``from __future__ import annotations``,
    evaluated in ``collections``) and those of a ``jax.jit(partial(f))`` object. The name is
    then defined in our module, and the reference is not broken."""
    m = _ANNOTATION.search(message)
    if not m:
        return False
    owner, _, _ = m.group(1).rpartition(".")  # the class of an __init__, or the function
    obj = defining_module(owner)
    if obj is not None and obj.__name__ != owner:
        for attr in owner[len(obj.__name__) + 1:].split("."):
            obj = getattr(obj, attr, None)
    module = sys.modules.get(getattr(obj, "__module__", None) or "", obj)
    if m.group(1).rpartition(".")[2] != "__init__":  # a module-level object: its own module
        module = defining_module(m.group(1))
    return module is not None and hasattr(module, m.group(2).split(".")[0])


def _docstrings(doc) -> list:
    out = [(doc.fullname, doc.docstring)]
    for member in getattr(doc, "own_members", []):
        out.extend(_docstrings(member))
    return out


def broken_references(modules: dict) -> list[str]:
    """``'broken reference: where: name'`` for each backquoted ``linrelu.…`` name in a
    docstring that does not resolve."""
    bad = []
    for module in modules.values():
        for where, text in _docstrings(module):
            for name in REFERENCE.findall(text or ""):
                if not resolves(name):
                    bad.append(f"broken reference: {where}: {name}")
    return sorted(set(bad))


def broken_links(out: Path) -> list[str]:
    """``'broken link: page: target'`` for each relative link between generated pages that
    points to no file."""
    bad = []
    for page in out.rglob("*.html"):
        for target in re.findall(r'href="([^"#:]+\.html)(?:#[^"]*)?"', page.read_text("utf-8")):
            if not (page.parent / target).resolve().exists():
                bad.append(f"broken link: {page.relative_to(out)}: {target}")
    return sorted(set(bad))


def build(out: Path) -> list[str]:
    """Render the reference into ``out``; return the problems found (empty: a clean build):
    pdoc's warnings, broken references and broken links."""
    import pdoc
    import pdoc.doc
    import pdoc.render

    names = public_modules()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.render.configure(docformat="markdown", math=True, search=True)
        # pdoc.pdoc(*names) would walk each package again (and follow __all__): render the
        # listed modules ourselves, as pdoc.pdoc does
        modules = {name: pdoc.doc.Module.from_name(name) for name in names}
        for module in modules.values():
            page = out / f"{module.fullname.replace('.', '/')}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(pdoc.render.html_module(module, modules), encoding="utf-8")
        (out / "index.html").write_text(pdoc.render.html_index(modules), encoding="utf-8")
        (out / "search.js").write_text(pdoc.render.search_index(modules), encoding="utf-8")
    warned = sorted({f"pdoc warned: {str(w.message).splitlines()[0]}" for w in caught
                     if not spurious(str(w.message))})
    return warned + broken_references(modules) + broken_links(out)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("build/api")
    problems = build(out)
    for p in problems:
        print(f"build_api: {p}", file=sys.stderr)
    if not problems:
        print(f"build_api: API reference written to {out / 'index.html'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
