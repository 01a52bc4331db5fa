"""``python -m renderd`` is ``segue-renderd``."""
import sys

from renderd.cli import main

sys.exit(main())
