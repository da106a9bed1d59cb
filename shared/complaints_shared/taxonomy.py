"""The subjects a complaint can be about (its "primary area of concern"), per directorate.

Seeded from the categories councils report on: Cheshire West and Chester's adult
social care annual report (table 4) and Harrow's children's services categories.
A council replaces them through ``COMPLAINTS_SUBJECTS`` (JSON: directorate -> list).
"""

from __future__ import annotations

ADULTS = (
    "Standard / quality / appropriateness of service",
    "Ignoring concerns",
    "Appropriateness of service",
    "Issues with provider",
    "Inaccuracies in assessments",
    "Lack of support",
    "Standard of care",
    "Social worker - attitude or behaviour",
    "Social worker - communication",
    "Communication",
    "Financial / cost issues",
    "Safeguarding",
)

CHILDRENS = (
    "Level and quality of service",
    "Attitude of staff",
    "Policy and procedural requirements not met",
    "Action or lack of action",
    "Service delay",
    "Withdrawal, reduction or change in service",
    "Failure to provide information",
    "Failure to follow policy or procedure",
    "Refusal to provide service",
    "Loss or damage to property",
    "Quality of facilities",
    "Allocation or reallocation",
    "Breach of confidentiality",
    "Discrimination by an individual",
    "Discrimination by a service",
    "Staff conduct - attitude or behaviour",
    "Communication - failure to keep informed",
    "Policy, legal or financial decision",
)

CORPORATE = (
    "Level and quality of service",
    "Service delay",
    "Failure to follow policy or procedure",
    "Staff conduct - attitude or behaviour",
    "Communication - failure to keep informed",
    "Policy, legal or financial decision",
    "Financial / cost issues",
    "Other",
)

DEFAULT_SUBJECTS: dict[str, tuple[str, ...]] = {
    "adults": ADULTS,
    "childrens": CHILDRENS,
    "corporate": CORPORATE,
}
