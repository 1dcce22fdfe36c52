"""`python -m training_job`."""

import sys

from training_job.cli import main

sys.exit(main())
