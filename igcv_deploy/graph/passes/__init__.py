"""One pass per module; `igcv_deploy.graph.pipeline.PASSES` runs them in order."""
