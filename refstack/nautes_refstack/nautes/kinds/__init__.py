"""One module per Nautes API: the service and business logic of each kind (``service/*.go``, ``biz/*.go``).

Every module exposes ``get``, ``list_items``, ``save`` and ``delete``, each taking the request scope and
the bound request message and returning the reply body (all fields present, as protojson's
``EmitUnpopulated`` writes them) or raising :class:`~nautes_refstack.nautes.errors.NautesError`.
"""
