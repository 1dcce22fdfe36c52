import sys

from local_stack.commands.cli import main

sys.exit(main())
