"""The Godo application: message types, handlers and schedules on godo-streams."""
