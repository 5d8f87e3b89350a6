"""The lessons' services (pure functions of their inputs; the routers in app/api/ call them)."""
