"""A use case's control mapping in OSCAL, for the organisation's GRC platform: a component definition whose one
component is the use case, implementing each control its approved requirements' policies map to.

Built with compliance-trestle's OSCAL models, so what leaves the portal validates against the OSCAL schema by
construction. Control ids are the imported catalogue's own (``Control.oscal_id``); a shipped control's identifier
becomes an OSCAL token (``CC6.1`` -> ``cc6.1``, ``Art. 5`` -> ``art.-5``, ``164.312(b)`` -> ``hipaa-164.312-b``).
"""

import re
import uuid
from collections import defaultdict
from typing import Any

from django.utils import timezone
from trestle.oscal import OSCAL_VERSION
from trestle.oscal.common import Metadata, Property
from trestle.oscal.component import ComponentDefinition, ControlImplementation, DefinedComponent, ImplementedRequirement

from governance.choices import RequirementsState
from governance.models import BehaviorConstraint, Control, RequirementsDocument, UseCase

#: Stable ids for what is stable (the use case's component, a control's implementation): a GRC tool that imports
#: the next export updates its records instead of duplicating them.
NAMESPACE = uuid.UUID("0b6f5f4e-8a55-4c8e-9a57-6f7c2d1e9b31")
#: The namespace of the portal's own OSCAL properties.
PROPERTY_NS = "https://llm-governance-portal.example/ns/oscal"


class NothingToExport(Exception):
    """The use case has no approved requirements: there is no control mapping in force to export."""


def control_token(control: Control) -> str:
    """The control's OSCAL id: the imported one, else its identifier as an OSCAL token."""
    if control.oscal_id:
        return control.oscal_id
    token = re.sub(r"[^a-z0-9._-]+", "-", control.identifier.lower()).strip("-")
    return token if token[:1].isalpha() else f"{control.framework.code}-{token}"


def _property(name: str, value: object) -> Property:
    return Property(name=name, value=str(value), ns=PROPERTY_NS)


def _stable_uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts)))


def _requirements_in_force(use_case: UseCase) -> RequirementsDocument:
    document = (
        RequirementsDocument.objects.filter(use_case=use_case, state=RequirementsState.APPROVED)
        .order_by("-version")
        .first()
    )
    if document is None:
        raise NothingToExport(f"{use_case} has no approved requirements: no control mapping is in force.")
    return document


def component_definition(use_case: UseCase) -> ComponentDefinition:
    """The use case as an OSCAL component, implementing every control mapped from its requirements in force."""
    document = _requirements_in_force(use_case)
    constraints = list(
        BehaviorConstraint.objects.filter(document=document).prefetch_related("policies__controls__framework")
    )
    by_control: dict[Control, dict[str, Any]] = defaultdict(lambda: {"policies": {}, "constraints": []})
    for constraint in constraints:
        for policy in constraint.policies.all():
            for control in policy.controls.all():
                implementation = by_control[control]
                implementation["policies"][policy.code] = policy
                implementation["constraints"].append(constraint)
    by_framework: dict[Any, list[Control]] = defaultdict(list)
    for control in by_control:
        by_framework[control.framework].append(control)

    implementations = []
    for framework, controls in sorted(by_framework.items(), key=lambda item: item[0].code):
        requirements = []
        for control in sorted(controls, key=lambda control: control.identifier):
            found = by_control[control]
            policies = "; ".join(f"{code} {policy.title}" for code, policy in sorted(found["policies"].items()))
            rules = "; ".join(
                f"[{constraint.get_kind_display()}, {constraint.get_severity_display()}] {constraint.statement}"
                for constraint in found["constraints"]
            )
            requirements.append(
                ImplementedRequirement(
                    uuid=_stable_uuid(use_case.slug, framework.code, control.identifier),
                    control_id=control_token(control),
                    description=f"{control.identifier} {control.title}: met by the policies {policies}, through the "
                    f"behaviour constraints {rules}.",
                    props=[
                        _property("control-identifier", control.identifier),
                        *(_property("policy", code) for code in sorted(found["policies"])),
                    ],
                )
            )
        implementations.append(
            ControlImplementation(
                uuid=_stable_uuid(use_case.slug, framework.code),
                source=f"urn:llm-governance-portal:control-framework:{framework.code}",
                description=f"{framework} controls implemented by {use_case.name}.",
                implemented_requirements=requirements,
            )
        )
    component = DefinedComponent(
        uuid=_stable_uuid(use_case.slug),
        type="software",
        title=use_case.name,
        description=use_case.business_objective,
        props=[
            _property("use-case", use_case.slug),
            _property("regulated-domain", use_case.regulated_domain),
            _property("eu-ai-act-risk-tier", use_case.eu_ai_act_risk_tier),
            _property("internal-risk-tier", use_case.internal_risk_tier),
            _property("requirements-version", document.version),
        ],
        control_implementations=implementations or None,
    )
    return ComponentDefinition(
        uuid=str(uuid.uuid4()),
        metadata=Metadata(
            title=f"{use_case.name}: controls implemented",
            last_modified=timezone.now(),
            version=f"requirements v{document.version}",
            oscal_version=OSCAL_VERSION,
        ),
        components=[component],
    )


def component_definition_json(use_case: UseCase) -> bytes:
    """The component definition as an OSCAL JSON document (``{"component-definition": {...}}``)."""
    return component_definition(use_case).oscal_serialize_json_bytes(pretty=True, wrapped=True)
