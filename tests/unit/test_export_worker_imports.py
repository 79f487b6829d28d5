"""The export worker runs in the app image, which has no TeX and no Typst (the compile image
alone has them): it must not import the compile engines."""

import subprocess
import sys


def test_the_export_worker_imports_no_typesetting_engine() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, ops.export_worker; print(sorted(m for m in "
         "sys.modules if m == 'typst' or m.startswith('compile_service.typesetting')))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert loaded == "[]"
