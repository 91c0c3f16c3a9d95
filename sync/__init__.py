"""The sync core: the contract between the investigators' phones and the server — pure.

- ``sync.protocol``: the visit envelope, canonical JSON and content hashes, idempotency decisions,
  the attestation message a device signs.
- ``sync.validate``: form definitions (``pwa/forms/*.json``) and the validation of a visit's answers.
- ``sync.merge``: a visit's answers in the case's field space, and the three-way merge into the case.
- ``sync.errors``: ``Problem`` (one thing wrong, with a path) and ``EnvelopeError``.

Nothing here imports Flask or SQLAlchemy, reads a clock or touches a file other than the form
definitions handed to ``sync.validate.load_forms``; a test enforces it.
"""

from sync.errors import EnvelopeError, Problem

__all__ = ["EnvelopeError", "Problem"]
