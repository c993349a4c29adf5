#!/usr/bin/env python3
"""Summarizes `callgrind_annotate --threshold=100` output: costs summed per function (inlined header
code counted in the function it was inlined into), names shortened (argument lists and template
arguments dropped). Usage: callgrind_annotate --auto=no --threshold=100 [--inclusive=yes] FILE | callgrind_top.py [N] [--inclusive]
(inclusive costs are not summed over the pieces of a function but their largest is kept)"""

import re
import sys


def short(name):
    name = re.sub(r"\[.*\]$", "", name).strip()
    # drop argument lists and template arguments, innermost first
    prev = None
    while prev != name:
        prev = name
        name = re.sub(r"<[^<>]*>", "", name)
        name = re.sub(r"\([^()]*\)", "", name)
    name = name.replace("(anonymous namespace)", "anon").replace("{lambda", "lambda")
    name = re.sub(r"\s+const$", "", name).strip()
    return name


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    inclusive = "--inclusive" in sys.argv
    n = int(args[0]) if args else 30
    total, costs = None, {}
    for line in sys.stdin:
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        v = int(m.group(1).replace(",", ""))
        rest = m.group(2)
        if rest.startswith("PROGRAM TOTALS"):
            total = v
            continue
        fn = rest.split(":", 1)[1] if ":" in rest.split(" ")[0] or rest.startswith("???:") or rest.startswith("/") \
            or rest.startswith("./") else rest
        if rest.startswith("???:"):
            fn = rest[4:]
        name = short(fn)
        if not inclusive and name in ("malloc", "_int_free", "free", "_int_malloc", "operator new", "operator delete", "malloc_consolidate",
                    "cfree", "_int_realloc", "realloc", "unlink_chunk.constprop.0", "tcache_init.part.0",
                    "posix_memalign", "_mid_memalign", "_int_memalign", "aligned_alloc"):
            name = "[malloc/free/new/delete]"
        if rest.startswith("=>") or not name:
            continue
        costs[name] = max(costs.get(name, 0), v) if inclusive else costs.get(name, 0) + v
    if not total:
        print("no PROGRAM TOTALS line", file=sys.stderr)
        return
    for name, v in sorted(costs.items(), key=lambda kv: -kv[1])[:n]:
        print(f"{100 * v / total:6.2f}%  {name}")


if __name__ == "__main__":
    main()
