import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_imports_no_django():
    # Like tests/glycemia/test_purity.py: the pure modules (the app's models, views and tasks
    # will not be) run in a fresh interpreter; neither they nor what they import (glycemia)
    # may bring Django in.
    code = (
        "import sys\n"
        "import monitoring.rules\n"
        "import monitoring.routing\n"
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_it_would_notice_django():
    # The check itself works: importing a Django module is caught.
    code = "import sys\nimport django.utils.timezone\nassert 'django' not in sys.modules\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert done.returncode != 0
