"""`python -m common.cli` is the `silvergym` command (what the supervisor starts its children with)."""
import sys

from common.cli import main

sys.exit(main())
