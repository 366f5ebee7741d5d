from django.apps import AppConfig


class CarePlansConfig(AppConfig):
    name = "care_plans"
