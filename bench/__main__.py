"""``python -m bench [NAME]`` runs ``bench/NAME.py``'s ``main()``; without NAME, lists them."""

import importlib
import pkgutil
import sys
from pathlib import Path


def names() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME\n\nbenchmarks:")
        for name in names():
            print(f"  {name}")
        return 0
    name = argv[0]
    if name not in names():
        print(f"no benchmark named {name!r}; choose one of: {', '.join(names())}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
