"""Frontline's shared package: event contracts and service plumbing, nothing else.

`frontline.contracts` holds the public event contract (envelope, event types, topics);
`frontline.plumbing` holds what every service needs to run (settings, Kafka, MongoDB,
logging, metrics, health, authentication). No business logic lives here.
"""
