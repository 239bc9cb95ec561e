from django.apps import AppConfig


class CarersConfig(AppConfig):
    name = "common.central.web"
    label = "carers"
    verbose_name = "silvergym carers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from common.central.web import audit  # noqa: F401 - connects the login and logout signals
