from django.apps import AppConfig


class GovernedAppConfig(AppConfig):
    name = "tests.governed_app"
    label = "governed_app"
