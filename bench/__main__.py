"""`python -m bench [--size N]`: run every measurement and print the table and the summary line."""

import sys

from bench.run import main

sys.exit(main())
