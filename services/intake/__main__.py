"""`python -m services.intake` runs the intake service until SIGTERM."""

from frontline.plumbing.service import serve
from frontline.plumbing.settings import get_settings
from services.intake.app import DEFAULT_PORT, create

settings = get_settings()
serve(create(settings), settings, default_port=DEFAULT_PORT)
