"""One pass class per module; `igcv_deploy.graph.pipeline.fold_passes` puts them in order."""
