"""`python -m temoin` is the `temoin` command."""

import sys

from temoin.cli.main import main

sys.exit(main())
