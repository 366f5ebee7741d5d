from django.utils import translation


class UserPreferencesMiddleware:
    """Activate the signed-in user's language unless they chose one this session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        cookie = request.COOKIES.get("django_language")
        if user is not None and user.is_authenticated and user.language and not cookie:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
