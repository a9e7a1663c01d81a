from django.urls import path

from accounts.api import views

urlpatterns = [
    path("login", views.LoginView.as_view(), name="auth-login"),
    path("refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("logout", views.LogoutView.as_view(), name="auth-logout"),
    path("register", views.RegisterView.as_view(), name="auth-register"),
    path("me", views.MeView.as_view(), name="auth-me"),
]
