"""`python -m apiedit` is the `apiedit` command."""

from .cli import main

raise SystemExit(main())
