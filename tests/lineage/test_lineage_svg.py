"""The lineage picture on the dataset version review page: every node's label whole inside its box (however long
the dataset's name or the state's label), and every node a link to its record's page."""

import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.urls import resolve, reverse

from governance.charts import text_width
from lineage.review_page import MIN_NODE_WIDTH, lineage_svg
from lineage.services import dataset_create, lineage_edge_add
from tests.lineage.conftest import new_version
from tests.registry.conftest import version
from tests.signing_in import login_verified

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def nodes(svg: str) -> list[tuple[str, ET.Element, ET.Element]]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return [(a.get("href"), a.find(f"{SVG}rect"), a.find(f"{SVG}text")) for a in root.iter(f"{SVG}a")]


def test_each_node_shows_its_whole_label_inside_its_box_and_links_to_its_record(demo_lineage) -> None:
    draft = version("support-chats@3")  # @3 derives from @2, which derives from @1 (approved for training)
    approved = version("support-chats@1")

    drawn = nodes(lineage_svg(draft))

    labels = {text.text: (href, rect, text) for href, rect, text in drawn}
    assert f"{approved} · Approved for training" in labels
    assert f"{draft} · Draft" in labels
    for label, (_href, rect, text) in labels.items():
        inside = float(rect.get("x")) + float(rect.get("width"))
        assert float(text.get("x")) + text_width(label, float(text.get("font-size"))) <= inside, label
    targets = {href for href, _rect, _text in drawn}
    for pk in (draft.pk, approved.pk, version("support-chats@2").pk):
        assert reverse("admin:lineage_datasetversion_change", args=[pk]) in targets
    sources = [href for href in targets if resolve(href).url_name == "lineage_sourcesystem_change"]
    assert sources  # @1's sources, on the left
    assert len(drawn) == len(targets)


def test_a_long_name_widens_every_node_instead_of_being_cut(steward, engineer) -> None:
    slug = "customer-support-chats-redacted-for-the-billing-assistant"  # the long part of each label
    dataset = dataset_create(actor=steward, slug=slug, name="Support chats, redacted", steward=steward)
    parent = new_version(dataset, engineer)
    child = new_version(dataset, engineer)
    lineage_edge_add(child=child, parent=parent, actor=engineer)

    drawn = nodes(lineage_svg(child))

    widths = {float(rect.get("width")) for _href, rect, _text in drawn}
    assert len(widths) == 1
    assert widths.pop() > MIN_NODE_WIDTH
    assert {text.text for _href, _rect, text in drawn} == {f"{parent} · Draft", f"{child} · Draft"}


def test_the_review_page_links_the_graph_nodes(client: Client, demo_lineage) -> None:
    draft = version("support-chats@3")
    login_verified(client, demo_lineage["auditor"])

    page = client.get(reverse("admin:lineage_datasetversion_change", args=[draft.pk])).content.decode()

    parent = version("support-chats@2")
    assert f'<a href="{reverse("admin:lineage_datasetversion_change", args=[parent.pk])}"><rect' in page
