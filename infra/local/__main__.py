"""``python -m infra.local``: the functions' code root is ``functions/``, as in Lambda."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lambda imports handlers from the function's code root; the emulator does the same.
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from infra.local.emulator import main  # noqa: E402

sys.exit(main())
