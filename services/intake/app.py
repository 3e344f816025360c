"""The intake service's process: its stream workers and REST API (business logic follows in its issue)."""

from fastapi import FastAPI

from frontline.plumbing.service import create_service
from frontline.plumbing.settings import Settings

DEFAULT_PORT = 8001


def create(settings: Settings) -> FastAPI:
    return create_service(service="intake", settings=settings)
