"""A use case's control mapping as an OSCAL component definition, valid OSCAL by trestle's models."""

import json

import pytest
from trestle.oscal.component import ComponentDefinition

from governance.models import BehaviorConstraint, Control, UseCase
from governance.oscal import NothingToExport, component_definition_json, control_token

pytestmark = pytest.mark.django_db


def _mapped_controls(use_case: UseCase) -> set[str]:
    constraints = BehaviorConstraint.objects.filter(document__use_case=use_case, document__state="approved")
    return {
        control_token(control)
        for constraint in constraints
        for policy in constraint.policies.all()
        for control in policy.controls.all()
    }


def test_the_export_loads_back_as_oscal_and_implements_every_mapped_control(demo_organisation) -> None:
    use_case = UseCase.objects.get(slug="support-assistant")
    expected = _mapped_controls(use_case)
    assert expected  # the demo maps its constraints to controls

    document = json.loads(component_definition_json(use_case))
    loaded = ComponentDefinition.model_validate(document["component-definition"])

    (component,) = loaded.components
    assert component.title == use_case.name
    implemented = {
        requirement.control_id
        for implementation in component.control_implementations
        for requirement in implementation.implemented_requirements
    }
    assert implemented == expected
    assert any(prop.name == "use-case" and prop.value == "support-assistant" for prop in component.props)


def test_component_and_requirement_ids_stay_the_same_from_one_export_to_the_next(demo_organisation) -> None:
    use_case = UseCase.objects.get(slug="support-assistant")
    first, second = (json.loads(component_definition_json(use_case))["component-definition"] for _ in range(2))
    assert first["components"][0]["uuid"] == second["components"][0]["uuid"]
    assert first["uuid"] != second["uuid"]  # each export is a document of its own


def test_a_use_case_without_approved_requirements_has_nothing_to_export(demo_organisation) -> None:
    use_case = UseCase.objects.get(slug="support-assistant")
    use_case.pk, use_case.slug, use_case.name = None, "new-idea", "A new idea"
    use_case.save()  # proposed, with no requirements yet
    with pytest.raises(NothingToExport, match="no approved requirements"):
        component_definition_json(use_case)


@pytest.mark.parametrize(
    ("identifier", "oscal_id", "token"),
    [
        ("CC6.1", "", "cc6.1"),
        ("Art. 5", "", "art.-5"),
        ("164.312(b)", "", "hipaa-164.312-b"),
        ("AC-2(1)", "ac-2.1", "ac-2.1"),
    ],
)
def test_control_ids_are_oscal_tokens(identifier, oscal_id, token, demo_organisation) -> None:
    control = Control(framework=Control.objects.get(identifier="164.312(b)").framework, identifier=identifier)
    control.oscal_id = oscal_id
    assert control_token(control) == token


def test_an_auditor_downloads_it_from_the_use_case_page_and_the_export_is_recorded(client, demo_organisation) -> None:
    from django.urls import reverse

    from audit.models import AccessEvent, LedgerEntry
    from tests.signing_in import login_verified

    use_case = UseCase.objects.get(slug="support-assistant")
    auditor = demo_organisation["auditor"]
    login_verified(client, auditor)
    page = client.get(reverse("admin:governance_usecase_change", args=[use_case.pk]))
    url = reverse("admin:governance_usecase_oscal_component_definition", args=[use_case.pk])
    assert url in page.content.decode()

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="support-assistant-component-definition.json"'
    assert "component-definition" in json.loads(response.content)
    event = AccessEvent.objects.get(kind="export", object_id=str(use_case.pk))
    assert event.user == auditor
    assert LedgerEntry.objects.filter(action="export", object_id=str(use_case.pk)).exists()
