"""Every domain area's models, imported together so the metadata is complete for Alembic."""

from grants.accounts.models import StaffRole, User
from grants.api.models import ApiToken
from grants.applications.models import (
    Applicant,
    ApplicantKind,
    Application,
    ApplicationState,
    Attachment,
    BudgetLine,
    BudgetLineKind,
    CorrectionRequest,
)
from grants.audit.models import AuditEvent
from grants.awards.models import (
    CommitteeSession,
    Decision,
    DirectGrant,
    EnvelopeMovement,
    MovementKind,
    Outcome,
    PaymentTranche,
)
from grants.calls.models import (
    ApplicantKinds,
    BudgetSection,
    Call,
    CallEnvelope,
    CallFunder,
    CallState,
    Criterion,
    Programme,
    ProgrammeBudget,
    RequiredDocument,
)
from grants.notifications.models import Notification, NotificationStatus, ProgrammeFollow
from grants.organisations.models import (
    Invitation,
    LegalForm,
    Membership,
    MembershipRole,
    Organisation,
)
from grants.reviews.models import (
    AssignmentState,
    ConflictOfInterest,
    CriterionScore,
    Opinion,
    Review,
    ReviewAssignment,
    ReviewState,
)

__all__ = [
    "ApiToken", "CommitteeSession", "ProgrammeFollow",
    "Applicant", "ApplicantKind", "ApplicantKinds", "Application", "ApplicationState", "AssignmentState",
    "Attachment", "AuditEvent", "BudgetLine", "BudgetLineKind", "BudgetSection", "Call", "CallEnvelope",
    "CallFunder", "CallState", "ConflictOfInterest", "CorrectionRequest", "Criterion", "CriterionScore",
    "Decision", "DirectGrant", "EnvelopeMovement", "Invitation", "LegalForm", "Membership", "MembershipRole",
    "MovementKind", "Notification", "NotificationStatus", "Opinion", "Organisation", "Outcome",
    "PaymentTranche", "Programme", "ProgrammeBudget", "RequiredDocument", "Review", "ReviewAssignment",
    "ReviewState", "StaffRole", "User",
]
