"""Serving the shared compressor core: an HTTP app with micro-batching, its client, and a Ray Serve deployment.

Install with ``pip install "contextsieve[serve]"``. ``contextsieve serve`` runs :func:`create_app` under uvicorn;
:class:`~contextsieve.serving.client.RemoteCompressor` has the :class:`~contextsieve.Compressor` methods over HTTP.
Nothing here is imported by ``import contextsieve``.
"""
