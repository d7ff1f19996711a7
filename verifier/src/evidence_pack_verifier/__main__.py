import sys

from evidence_pack_verifier.cli import main

sys.exit(main())
