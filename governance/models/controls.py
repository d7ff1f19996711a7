"""Control frameworks, their controls, and the organisation's policies mapped onto them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.models.base import GovernedModel


class ControlFramework(models.Model):
    """A standard or regulation whose controls policies map to (SOC 2, GDPR, EU AI Act, ...).

    Shipped with the product (``manage.py load_controls``, run by a migration): identifiers and our own
    short titles only, never a standard's text.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    version = models.CharField(_("version"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("control framework")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


class Control(models.Model):
    framework = models.ForeignKey(
        ControlFramework, verbose_name=_("framework"), on_delete=models.PROTECT, related_name="controls"
    )
    identifier = models.CharField(_("identifier"), max_length=60)
    title = models.CharField(_("title"), max_length=200)
    oscal_id = models.CharField(
        _("OSCAL control id"),
        max_length=100,
        blank=True,
        help_text=_("The control's id in the OSCAL catalog it was imported from (e.g. ac-2.1); OSCAL exports cite it."),
    )

    class Meta:
        verbose_name = _("control")
        ordering = ["framework__name", "identifier"]
        constraints = [models.UniqueConstraint(fields=["framework", "identifier"], name="control_unique_per_framework")]

    def __str__(self) -> str:
        return f"{self.framework.code.upper()} {self.identifier}: {self.title}"


class Policy(GovernedModel):
    """An internal policy ("CC-17: customer communications") that requirements and tests refer to."""

    code = models.CharField(_("code"), max_length=40, unique=True, help_text=_("e.g. CC-17"))
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.CharField(_("version"), max_length=20, default="1.0")
    effective_date = models.DateField(_("effective date"))
    controls = models.ManyToManyField(Control, verbose_name=_("controls"), blank=True, related_name="policies")

    #: Mapping changes are history (and so ledger entries) too.
    _history_m2m_fields = ("controls",)

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"
