import sys

from electio.cli import main

sys.exit(main())
