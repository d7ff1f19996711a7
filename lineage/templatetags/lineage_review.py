"""``{% version_sources original as sources %}``: the sources a dataset version carries, its own and its parents',
for its page and for the page where it is signed alike."""

from django import template

from lineage.models import DatasetVersion, LineageSource
from lineage.review_page import sources_in_effect

register = template.Library()


@register.simple_tag
def version_sources(version: DatasetVersion) -> list[LineageSource]:
    return sources_in_effect(version)
