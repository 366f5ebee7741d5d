import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_imports_no_django():
    modules = sorted(p.stem for p in (ROOT / "glycemia").glob("*.py") if p.stem != "__init__")
    code = (
        "import sys\n"
        + "".join(f"import glycemia.{m}\n" for m in modules)
        + "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
