"""The floor every other package of the product stands on, and that imports none of them.

What several packages need lives here once: the project's names and constants (``project``), the
AWS session, S3 URIs and the client cache (``aws``), the stack as describe-stacks answers it
(``stack_outputs``), the data set formats (``lst``, ``reviewed_dataset``) and the loopback WSGI
server that the local stack and the review page both serve on (``wsgi_server``).
tests/unit/test_product_layout.py holds the rule: nothing here imports another package of the
product, and no import anywhere runs back up or closes a cycle.
"""
