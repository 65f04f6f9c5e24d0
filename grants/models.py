"""Every domain area's models, imported together so the metadata is complete for Alembic."""

from grants.accounts.models import LoginSession, StaffRole, User
from grants.api.models import ApiToken
from grants.applications.models import (
    Application,
    ApplicationState,
    Attachment,
    AttachmentBundle,
    BudgetLine,
    BudgetLineKind,
    CorrectionRequest,
    ReferenceCounter,
)
from grants.audit.models import AuditEvent, AuditEventOrigin, AuditPurgeHorizon
from grants.awards.models import (
    CommitteeSession,
    Decision,
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
    DirectGrant,
    Programme,
    ProgrammeBudget,
    ProgrammeFollow,
    RequiredDocument,
)
from grants.conventions.models import Convention, SignatureMethod
from grants.final_reports.models import (
    FinalReport,
    FinalReportDocument,
    FinalReportLine,
    ReportState,
)
from grants.organisations.models import (
    Applicant,
    ApplicantKind,
    Invitation,
    LegalForm,
    Membership,
    MembershipRole,
    Organisation,
)
from grants.outbox.models import Notification, NotificationStatus
from grants.privacy.models import AccountClosure, DataExport
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
    "AccountClosure", "AuditEventOrigin", "AuditPurgeHorizon", "DataExport",
    "Applicant", "ApplicantKind", "ApplicantKinds", "Application", "ApplicationState", "AssignmentState",
    "Attachment", "AttachmentBundle", "AuditEvent", "BudgetLine", "BudgetLineKind", "BudgetSection", "Call", "CallEnvelope",
    "CallFunder", "CallState", "ConflictOfInterest", "CorrectionRequest", "Criterion", "CriterionScore",
    "Decision", "DirectGrant", "EnvelopeMovement", "Invitation", "LegalForm", "Membership", "MembershipRole",
    "MovementKind", "Notification", "NotificationStatus", "Opinion", "Organisation", "Outcome",
    "PaymentTranche", "Programme", "ProgrammeBudget", "ReferenceCounter", "RequiredDocument", "Review", "ReviewAssignment",
    "LoginSession", "ReviewState", "StaffRole", "User", "Convention", "SignatureMethod",
    "FinalReport", "FinalReportDocument", "FinalReportLine", "ReportState",
]
