"""Write tests/data/robust-decisions.json: the default controller's decisions (estimator ``robust``
and its selection preset) on the traces of the paper preset's golden test, pinned so that work on
the decision path's speed cannot change them unnoticed (test_robust_golden.py compares).

Unlike the paper preset, the default may change on purpose (a retuned parameter, a new option).
Then regenerate the file from the code whose behaviour is the new reference, and say so in the
commit:
    python tests/make_robust_golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from make_paper_golden import decisions  # noqa: E402

# the default and two of its named variants, as ControllerConfig options
SCHEMES: dict[str, dict] = {"ALERT": {}, "ALERT_first": {"anytime_deadline": "first"},
                            "ALERT_config": {"estimator": "robust-config"}}


if __name__ == "__main__":
    path = ROOT / "tests" / "data" / "robust-decisions.json"
    path.write_text(json.dumps(decisions(SCHEMES), separators=(",", ":")))
    print(f"wrote {path}")
