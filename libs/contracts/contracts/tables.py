"""The upstream tables that ingest curates, by name."""

from contracts.airports import AIRPORTS
from contracts.flights import FLIGHTS
from contracts.planes import PLANES
from contracts.table import TableContract
from contracts.weather import WEATHER

CURATED_TABLES: dict[str, TableContract] = {t.name: t for t in (FLIGHTS, WEATHER, PLANES, AIRPORTS)}
