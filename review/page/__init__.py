"""The review page (``python -m review serve``): one pending photo at a time, the model's answer
and confidence, three verdicts (b / m / n). ``desk`` holds the claimed reviews, ``app`` is the
Flask app, ``server`` serves it on 127.0.0.1; the page itself is ``templates/`` and ``static/``."""

from review.page.server import serve

__all__ = ["serve"]
