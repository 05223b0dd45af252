"""The platinum layer: embeddings and vector retrieval, the knowledge graph, point-in-time features and models.

Same shape as a domain: ``tables`` (declarations), pure transforms (``text``, ``embeddings``, ``kg``,
``features``), ``steps`` (extract -> transform -> check -> load per tenant) and ``suites/`` (quality suites,
package data). Heavy ML libraries come with the ``[ml]`` extra and are imported only when used.
"""
