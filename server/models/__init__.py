"""All database models, one package (the only owner of the schema)."""

from server.models.attachments import Attachment
from server.models.audit import AuditEntry
from server.models.cases import Case, CaseEvent, OpenApplicant, RecordSnapshot
from server.models.devices import Attestation, Device, EnrolmentCode
from server.models.households import Household, Member
from server.models.orgs import Unit
from server.models.users import User
from server.models.visits import Visit, VisitAssignment

# Areas that keep their own models in their own module (imported so the tables are registered).
from server.models import boards, money, oversight  # noqa: E402,F401  isort: skip

__all__ = ["Attachment", "Attestation", "AuditEntry", "Case", "CaseEvent", "Device", "EnrolmentCode",
           "RecordSnapshot", "Household", "Member", "OpenApplicant", "Unit", "User", "Visit", "VisitAssignment"]
