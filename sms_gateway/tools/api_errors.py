"""The one exception of the JSON API (``controllers/api.py``): a status, a stable code, a human message."""


class ApiError(Exception):
    """An answer ``{"error": {"code": code, "message": message}}`` with HTTP ``status``.

    ``message`` is already translated (in the key user's language); ``code`` is stable, for programs."""

    def __init__(self, status, code, message, headers=None, details=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def to_json(self):
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}
