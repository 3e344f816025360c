"""The default concern taxonomy, shipped as data beside the code; tenants may replace it by REST."""

import json
from functools import cache
from pathlib import Path

from services.intake.core.taxonomy import Taxonomy

DEFAULT_TAXONOMY = Path(__file__).with_name("default_taxonomy.json")


@cache
def default_taxonomy() -> Taxonomy:
    return Taxonomy.model_validate(json.loads(DEFAULT_TAXONOMY.read_text()))
