"""HTTP layer: validates requests, calls app.nn, encodes the results."""
