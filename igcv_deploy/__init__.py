"""igcv-deploy: export, fold, quantise and profile IGCV networks for edge runtimes.

Importing the package imports no torch; the export API loads it on first use.
"""

__version__ = "0.1.0"
