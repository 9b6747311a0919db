"""Allow ``python -m contextsieve``."""

from contextsieve.cli import main

raise SystemExit(main())
