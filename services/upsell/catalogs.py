"""Each tenant's compiled catalog. When it is older than the refresh time, the store's change
counter is read (one small document) and the catalog reloaded only if it moved: an edit made
through this process's REST is seen at once, one made through another within the refresh time."""

from __future__ import annotations

import time

from services.upsell.core.catalog import Catalog
from services.upsell.store import UpsellStore


class Catalogs:
    def __init__(self, store: UpsellStore, *, refresh_seconds: float) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._loaded: dict[str, tuple[float, int, Catalog]] = {}  # tenant → (checked at, changes, catalog)

    async def of(self, tenant: str) -> Catalog:
        found = self._loaded.get(tenant)
        if found is not None and time.monotonic() - found[0] < self._refresh:
            return found[2]
        changes = await self._store.catalog_changes(tenant)
        if found is not None and found[1] == changes:
            self._loaded[tenant] = (time.monotonic(), changes, found[2])
            return found[2]
        catalog = Catalog(await self._store.offers(tenant))
        self._loaded[tenant] = (time.monotonic(), changes, catalog)
        return catalog

    def changed(self, tenant: str) -> None:
        self._loaded.pop(tenant, None)
