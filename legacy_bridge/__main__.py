import sys

from legacy_bridge.cli import main

sys.exit(main())
