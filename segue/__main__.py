"""`python -m segue` is `segue`."""
import sys

from segue.cli import main

sys.exit(main())
