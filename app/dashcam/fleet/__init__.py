"""The fleet link: events and alerts to an MQTT broker, clips uploaded on request."""
