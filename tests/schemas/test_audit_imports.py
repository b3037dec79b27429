"""`schemas.audit` depends on nothing of ours outside `schemas` (dependencies point one way)."""

from __future__ import annotations

import subprocess
import sys

OURS = ("streams", "processors", "inference", "replay", "infra")


def test_the_audit_chain_imports_nothing_of_ours_outside_schemas() -> None:
    code = f"import sys, schemas.audit; print(sorted(m for m in sys.modules if m.split('.')[0] in {OURS!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
