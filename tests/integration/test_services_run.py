"""Every service runs as its own process: ready against real Kafka and MongoDB, tenant-scoped REST,
metrics, and a clean exit on SIGTERM."""

import httpx
import pytest

from tests.integration.helpers import free_port, running_service, service_environment


@pytest.mark.parametrize("name", ["intake", "routing", "upsell", "records"])
async def test_a_service_starts_ready_answers_scoped_and_stops_on_sigterm(name, settings, tmp_path):
    port = free_port()
    async with running_service(name, service_environment(settings, port), port, tmp_path) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=5) as http:
            ready = (await http.get("/readyz")).json()
            assert ready["status"] == "ready"
            assert {"kafka", "mongodb", f"{name}_worker"} <= set(ready["checks"])
            assert set(ready["checks"].values()) == {"ok"}
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            whoami = await http.get("/v1/whoami", headers={"Authorization": "Bearer dev-globex-supervisor"})
            assert whoami.json() == {"name": "dev-globex-supervisor", "tenant": "globex", "role": "supervisor"}
            assert (await http.get("/v1/whoami")).status_code == 401
            metrics = (await http.get("/metrics")).text
            assert 'frontline_http_request_seconds_count{method="GET",route="/v1/whoami",status="200"}' in metrics
        await service.stop_gracefully()
