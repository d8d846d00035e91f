from django.http import JsonResponse
from oauth2_provider.views.generic import ProtectedResourceView


class Me(ProtectedResourceView):
    """A resource server endpoint: answers only to a valid bearer token (RFC 6750)."""

    def get(self, request, *args, **kwargs):
        return JsonResponse({"username": request.resource_owner.username})
