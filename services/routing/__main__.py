"""`python -m services.routing` runs the routing service until SIGTERM."""

from frontline.plumbing.service import serve
from frontline.plumbing.settings import get_settings
from services.routing.app import DEFAULT_PORT, create

settings = get_settings()
serve(create(settings), settings, default_port=DEFAULT_PORT)
