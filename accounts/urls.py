from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/done/", views.signup_done, name="signup_done"),
    path("activate/<str:uidb64>/<str:token>/", views.activate, name="activate"),
    path("resend/", views.resend, name="resend"),
    path("resend/done/", views.resend_done, name="resend_done"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/done/", views.password_reset_done, name="password_reset_done"),
    path(
        "password/reset/<str:uidb64>/<str:token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("welcome/", views.welcome, name="welcome"),
]
