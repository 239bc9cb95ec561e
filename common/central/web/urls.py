from django.contrib.auth import views as auth_views
from django.urls import path

from common.central.web import views

urlpatterns = [
    path("", views.week, name="week"),
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("participant", views.participant, name="participant"),
    path("class", views.class_page, name="class"),
    path("ack", views.acknowledge, name="ack"),
    path("devices", views.devices, name="devices"),
    path("manage", views.manage, name="manage"),
    path("static/app.css", views.style, name="style"),
]
handler404 = "common.central.web.views.not_found"
