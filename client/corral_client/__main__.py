"""``python -m corral_client``: the ``corral`` command."""

import sys

from corral_client.cli import main

sys.exit(main())
