"""What the harness's own tests share: one background asyncio loop, HTTP doubles on it, a dev OpenBao.

The tests reach the services' doubles only through this package, never through the reference stack's
code (``nautes_refstack``): the two distributions stay independent in the tests too.
"""
