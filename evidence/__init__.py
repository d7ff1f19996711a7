"""Evidence: evidence packs (PDF/A-3), standard exports and pack verification. Builds on every other app."""

import logging

# WeasyPrint logs its stylesheets at import and every page it lays out at INFO; a pack's progress is shown on
# its own admin page instead. Set here, before the admin (whose ready() runs first) imports WeasyPrint.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
