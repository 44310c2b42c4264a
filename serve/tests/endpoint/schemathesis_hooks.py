"""Schemathesis hooks for serve/tests/endpoint/openapi.rs: JSON lines request bodies are
text on the wire, as text/plain ones are."""
import schemathesis

schemathesis.serializer.alias("application/jsonlines", "text/plain")
