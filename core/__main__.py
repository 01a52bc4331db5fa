"""`python -m core` is `segue`."""
import sys

from core.cli import main

sys.exit(main())
