"""Role grants and access reviews: who holds a portal role, on what basis, and who attested it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.choices import OPEN_STATES, AccessReviewState, Role, RoleGrantBasis, RoleGrantState
from audit.models.base import GovernedModel


def _person(verbose_name: str, *, null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        related_name="+",
        null=null,
        blank=null,
    )


class RoleGrant(ConcurrentTransitionMixin, GovernedModel):
    """One person holding one portal role: requested by an access administrator, approved with a signature by a
    second person, and later revoked the same way.

    The role's group membership is what Django's own permission checks read, and only the role grant services
    change it; approval authority (``accounts.authz``) counts a role group only while an approved grant backs
    it, so a membership added around the services (a shell, a raw SQL insert) approves nothing. Grants that did
    not go through maker-checker in the portal (existing members when governance began, the first
    administrators of an installation, the identity provider's assignments, pipelines' service accounts) say so
    in ``basis``.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT, related_name="role_grants"
    )
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    state = FSMField(
        _("state"), max_length=24, choices=RoleGrantState.choices, default=RoleGrantState.REQUESTED, protected=True
    )
    basis = models.CharField(_("basis"), max_length=24, choices=RoleGrantBasis.choices, default=RoleGrantBasis.APPROVED)
    reason = models.TextField(_("reason for the grant"))
    requested_by = _person(_("requested by"))
    requested_at = models.DateTimeField(_("requested at (UTC)"), default=timezone.now)
    decided_by = _person(_("grant decided by"))
    decided_at = models.DateTimeField(_("grant decided at (UTC)"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    revocation_requested_by = _person(_("removal requested by"))
    revocation_requested_at = models.DateTimeField(_("removal requested at (UTC)"), null=True, blank=True)
    revocation_reason = models.TextField(_("reason for the removal"), blank=True)
    revoked_by = _person(_("removal decided by"))
    revoked_at = models.DateTimeField(_("revoked at (UTC)"), null=True, blank=True)
    revocation_note = models.TextField(_("removal decision note"), blank=True)

    #: A signature binds the request (who, which role, why, asked by whom); what is recorded as it is decided
    #: or later removed cannot be part of it.
    digest_exclude = (
        "decided_by",
        "decided_at",
        "decision_note",
        "revocation_requested_by",
        "revocation_requested_at",
        "revocation_reason",
        "revoked_by",
        "revoked_at",
        "revocation_note",
    )

    class Meta:
        verbose_name = _("role grant")
        ordering = ["-requested_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("request_rolegrant", _("Can request granting or removing a portal role (access administrator)")),
            ("approve_rolegrant", _("Can approve granting or removing a portal role")),
        ]
        indexes = [models.Index(fields=["user", "state"], name="role_grant_user_state_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(state__in=[state.value for state in OPEN_STATES]),
                name="role_grant_one_open_per_person_and_role",
            ),
            models.CheckConstraint(
                condition=models.Q(requested_by__isnull=True) | ~models.Q(requested_by=models.F("user")),
                name="role_grant_not_requested_for_oneself",
            ),
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | (~models.Q(decided_by=models.F("user")) & ~models.Q(decided_by=models.F("requested_by"))),
                name="role_grant_decided_by_a_second_person",
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_by__isnull=True)
                | (~models.Q(revoked_by=models.F("user")) & ~models.Q(revoked_by=models.F("revocation_requested_by"))),
                name="role_grant_removal_decided_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} for {self.user}"

    @transition(field=state, source=RoleGrantState.REQUESTED, target=RoleGrantState.APPROVED)
    def approve(self) -> None:
        """The person holds the role from now on."""

    @transition(field=state, source=RoleGrantState.REQUESTED, target=RoleGrantState.REJECTED)
    def reject(self) -> None:
        """The role is never held through this request."""

    @transition(field=state, source=RoleGrantState.APPROVED, target=RoleGrantState.REVOCATION_REQUESTED)
    def request_revocation(self) -> None:
        """Someone asks for the role to be taken away; it is held until a second person agrees."""

    @transition(field=state, source=RoleGrantState.REVOCATION_REQUESTED, target=RoleGrantState.APPROVED)
    def keep(self) -> None:
        """The removal was refused: the grant stands."""

    @transition(
        field=state,
        source=[RoleGrantState.APPROVED, RoleGrantState.REVOCATION_REQUESTED],
        target=RoleGrantState.REVOKED,
    )
    def revoke(self) -> None:
        """The role is no longer held through this grant."""


class AccessReview(ConcurrentTransitionMixin, GovernedModel):
    """The periodic review of who holds a role: the owner of the role (``accounts.roles.ROLE_OWNERS``) signs the
    list of its members as it stood when the review opened, and names those who should lose it; each of those
    becomes a removal request, which a second person approves as any other.

    One review per role and period (``ACCESS_REVIEW_MONTHS``, a quarter by default), opened by a scheduled task.
    """

    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    period_start = models.DateField(_("period starting"))
    state = FSMField(
        _("state"), max_length=12, choices=AccessReviewState.choices, default=AccessReviewState.OPEN, protected=True
    )
    members = models.JSONField(_("members when the review opened"), default=list)
    opened_at = models.DateTimeField(_("opened at (UTC)"), default=timezone.now)
    removed = models.JSONField(_("role grants to remove"), default=list, blank=True)
    note = models.TextField(_("note"), blank=True)
    attested_by = _person(_("attested by"))
    attested_at = models.DateTimeField(_("attested at (UTC)"), null=True, blank=True)

    #: The signature attests the member list; the removals chosen with it are recorded beside it.
    digest_exclude = ("removed", "note", "attested_by", "attested_at")

    class Meta:
        verbose_name = _("access review")
        ordering = ["-period_start", "role"]
        default_permissions = ("view",)
        permissions = [("attest_accessreview", _("Can attest the members of a role they own"))]
        constraints = [
            models.UniqueConstraint(fields=["role", "period_start"], name="access_review_one_per_role_and_period")
        ]

    def __str__(self) -> str:
        return f"Access review: {self.role}, period from {self.period_start:%Y-%m-%d}"

    @transition(field=state, source=AccessReviewState.OPEN, target=AccessReviewState.ATTESTED)
    def attest(self) -> None:
        """The owner has signed the member list."""
