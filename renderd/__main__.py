"""``python -m segue.renderd`` is ``segue-renderd``."""
import sys

from segue.renderd.cli import main

sys.exit(main())
