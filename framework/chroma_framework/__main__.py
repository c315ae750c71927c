"""``python -m chroma_framework ...``: the ``chroma`` command (what ``torchrun -m chroma_framework`` starts)."""

import sys

from chroma_framework.cli import main

sys.exit(main())
