from django.contrib import admin

from governance.admin import GovernedAdmin
from tests.governed_app.models import Memo


@admin.register(Memo)
class MemoAdmin(GovernedAdmin):
    list_display = ("title", "status")
