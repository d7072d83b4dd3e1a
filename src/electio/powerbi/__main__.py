"""``python -m electio.powerbi build|check``."""

import sys

from electio.powerbi.build import main

sys.exit(main())
