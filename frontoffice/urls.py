from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from frontoffice.api.auth import ObtainTokenView

admin.site.site_header = "Frontoffice"
admin.site.site_title = "Frontoffice admin"
admin.site.index_title = "One customer record for marketing, sales and support"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="workspace:home", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/v1/", include("frontoffice.api.urls")),
    path("pipeline/", include("pipeline.urls")),
    path("dashboard/", include("frontoffice.dashboard.urls")),
    path("app/", include("frontoffice.workspace.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

# Under /api/ these answer JSON ({"detail", "errors"}), elsewhere Django's pages.
handler400 = "frontoffice.api.errors.bad_request"
handler404 = "frontoffice.api.errors.page_not_found"
handler500 = "frontoffice.api.errors.server_error"
