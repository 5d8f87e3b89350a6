"""Services: the app's work (the inspect pipeline, models, the gallery) apart from HTTP.

Routers in app.api validate a request, call a service and encode; `convscope inspect` calls the
same services. Nothing here imports a router or FastAPI.
"""
