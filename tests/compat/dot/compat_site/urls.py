from django.contrib.auth import views as auth_views
from django.urls import include, path
from oauth2_provider import urls as oauth2_urls

from .views import Me

urlpatterns = [
    path("o/", include(oauth2_urls)),
    # RFC 8414 metadata at the origin (path-inserted form for the issuer `…/o`).
    path("", include((oauth2_urls.metadata_urlpatterns, "oauth2_metadata"))),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("api/me", Me.as_view()),
]
