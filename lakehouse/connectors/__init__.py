"""Source connectors (boto3 readers). Sandboxes that emulate the sources live in ``connectors/sandbox`` and are
never imported by connector code."""
