"""Deployment artefacts generated from code: the Step Functions definition, the Glue job list, the Glue bundle."""
