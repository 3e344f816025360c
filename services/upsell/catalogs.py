"""Each tenant's compiled catalog, reloaded from the store when older than the refresh time (an
edit made through this process's REST is seen at once; one made through another, within it)."""

from __future__ import annotations

import time

from services.upsell.core.catalog import Catalog
from services.upsell.store import UpsellStore


class Catalogs:
    def __init__(self, store: UpsellStore, *, refresh_seconds: float) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._loaded: dict[str, tuple[float, Catalog]] = {}

    async def of(self, tenant: str) -> Catalog:
        found = self._loaded.get(tenant)
        if found is not None and time.monotonic() - found[0] < self._refresh:
            return found[1]
        catalog = Catalog(await self._store.offers(tenant))
        self._loaded[tenant] = (time.monotonic(), catalog)
        return catalog

    def changed(self, tenant: str) -> None:
        self._loaded.pop(tenant, None)
