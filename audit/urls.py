from django.urls import path

from audit import views

urlpatterns = [
    path("verification-keys/", views.verification_keys, name="verification_keys"),
    path("verification-keys.json", views.verification_keys_json, name="verification_keys_json"),
]
