import json
import logging

import structlog

from frontline.plumbing.logging import configure_logging, event_context, get_logger


def test_log_lines_are_json_naming_the_service_and_the_event_in_hand(capsys):
    configure_logging(service="records", level="INFO")
    structlog.reset_defaults()
    configure_logging(service="records", level="INFO")
    with event_context(tenant="acme", correlation_id="corr-1", contact_id="c-1", event_id="e-1"):
        get_logger("test").info("stored", event_type="contact.received")
    logging.getLogger("aiokafka").warning("broker slow")
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines()[-2:])
    assert first | {"timestamp": None} == {
        "event": "stored",
        "event_type": "contact.received",
        "service": "records",
        "level": "info",
        "tenant": "acme",
        "correlation_id": "corr-1",
        "contact_id": "c-1",
        "event_id": "e-1",
        "timestamp": None,
    }
    assert second["event"] == "broker slow"
    assert second["logger"] == "aiokafka"
    assert "correlation_id" not in second
