"""schemathesis, in-process, against the app's own OpenAPI schema: generated requests (valid and
invalid) to every operation never get a server error, every response conforms to the schema
(status codes, content types, headers, bodies), and requests that violate the schema are
rejected. Bounded: a few dozen examples per operation.

Not checked: that every schema-valid request is accepted. The API rightly refuses, with a
documented 4xx, requests that JSON Schema cannot describe as bad: a kernel larger than the
input, a sample id past the gallery, bytes that are not an image."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import positive_data_acceptance

from app.main import create_app

EXAMPLES_PER_OPERATION = 30

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema_and_never_errors(case):
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
