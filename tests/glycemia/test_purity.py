import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def glycemia_modules() -> list[str]:
    """Every module of the app, packages' modules included: glycemia.suggestions.basal, …"""
    names = []
    for path in sorted((ROOT / "glycemia").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_it_imports_no_django():
    modules = glycemia_modules()
    assert "glycemia.suggestions.basal" in modules  # a package's modules are checked too
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
