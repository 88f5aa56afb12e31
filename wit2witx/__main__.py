import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command starts: no traceback, as later on
    sys.exit(130)
sys.exit(main())
