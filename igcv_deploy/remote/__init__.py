"""Host side of `--on DEVICE`: reach a Linux device over the system's OpenSSH client, set up a torch-free
igcv-deploy environment there, copy bundles once, and run `igcv-profile` on it, for one device or a fleet.

Every remote command is an argv list joined with shlex.quote; device names are checked before ssh sees them.
"""
