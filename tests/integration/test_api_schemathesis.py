"""Schemathesis against ``/api/v1/openapi.json`` with an enrolled phone's token: at least 1,000
generated requests (valid and invalid by the schema), 0 server errors, and every response as the
document declares it (status, content type, headers, body schema).
Not checked: that every schema-valid request is *accepted* (an upload whose bytes do not match the
SHA-256 in its path is valid by the schema and rightly 422) nor that every schema-invalid one is
refused (unknown query parameters are ignored, as HTTP servers do).  Bounded: about a minute per database."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.test_sync_api import field  # noqa: F401  (fixture)

# Conformance: no 5xx, and status, content type, headers and body as the document declares them.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 600, GenerationMode.NEGATIVE: 450}


def test_api_conforms_under_generated_requests(app, field):  # noqa: F811
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {field['phones'][0].token}"}
    sent: list[int] = []
    for mode, examples in EXAMPLES.items():
        @given(case=schema.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call_and_validate(headers=auth, checks=CHECKS)
            sent.append(response.status_code)

        run()
    assert len(sent) >= 1000
    assert not [s for s in sent if s >= 500]
    assert {s for s in sent if s < 300}, "no request was accepted: the token or the schema is wrong"
