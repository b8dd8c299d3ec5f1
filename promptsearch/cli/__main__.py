"""`python -m promptsearch.cli`: how the coordinator starts worker processes."""

import sys

from promptsearch.cli.main import main

sys.exit(main())
