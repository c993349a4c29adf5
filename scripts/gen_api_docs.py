#!/usr/bin/env python3
"""Generates docs/api.md from the doc comments of the public headers.

Every public declaration carries a `///` comment (formula, shapes, what accumulates). This script
collects them, header by header, so the reference cannot drift from the code:
    python3 scripts/gen_api_docs.py            # rewrite docs/api.md
    python3 scripts/gen_api_docs.py --check    # exit 1 when docs/api.md is stale (CI)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ["autograd", "nn", "optim", "data", "train"]
SKIP_DIRS = {"detail", "kernels"}


def public_headers():
    for layer in LAYERS:
        base = ROOT / layer
        if not base.is_dir():
            continue
        for h in sorted(base.rglob("*.hpp")):
            if SKIP_DIRS & set(h.relative_to(ROOT).parts):
                continue
            yield h


def entries(text):
    """Yields (doc, declaration) for every `///` block followed by a declaration line."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip().startswith("///"):
            doc = []
            while i < len(lines) and lines[i].strip().startswith("///"):
                doc.append(lines[i].strip()[3:].strip())
                i += 1
            decl = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("//"):
                decl.append(lines[i].strip())
                if re.search(r"[;{]\s*$", lines[i]) or lines[i].strip().endswith("{}"):
                    break
                i += 1
            if decl:
                d = " ".join(decl)
                m = re.search(r"(?<=[\w)])\s*\{(?!\s*\})", d)  # a body or class head, not "= {}" or "T{}"
                if m:
                    d = d[: m.start()]
                d = d.rstrip(";").strip()
                yield " ".join(doc), d
        i += 1


def header_summary(text):
    out = []
    for line in text.splitlines()[1:]:
        s = line.strip()
        if s.startswith("//") and not s.startswith("///"):
            out.append(s[2:].strip())
        elif s:
            break
    return " ".join(out)


def render():
    parts = ["# xgrad API reference", "",
             "Generated from the doc comments of the public headers by `scripts/gen_api_docs.py`;",
             "the headers are the source of truth. Include `<xgrad/xgrad.hpp>` for everything.", ""]
    current_layer = None
    for h in public_headers():
        rel = h.relative_to(ROOT)
        layer = rel.parts[0]
        if layer != current_layer:
            parts += [f"## {layer}/", ""]
            current_layer = layer
        text = h.read_text()
        parts += [f"### `{rel}`", ""]
        summary = header_summary(text)
        if summary:
            parts += [summary, ""]
        for doc, decl in entries(text):
            decl = decl.replace("|", "\\|")
            parts.append(f"- `{decl}`  \n  {doc}")
        parts.append("")
    return "\n".join(parts) + "\n"


def main():
    out = ROOT / "docs" / "api.md"
    text = render()
    if "--check" in sys.argv:
        if not out.exists() or out.read_text() != text:
            print("docs/api.md is stale: run python3 scripts/gen_api_docs.py", file=sys.stderr)
            return 1
        return 0
    out.write_text(text)
    print(f"wrote {out.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
