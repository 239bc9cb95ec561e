"""`python -m common.cli` is the `silvergym` command (what the supervisor starts its children with)."""
import sys

from common.cli import main

if __name__ == "__main__":  # not when a spawned child (the Edge TPU's, models/tpu_worker.py) imports it
    sys.exit(main())
