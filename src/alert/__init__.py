"""alert: ALERT (USENIX ATC 2020) - pick the DNN and the resource setting for every input."""

from alert.profile import Candidate, Model, Profile, ProfileError, Setting

__version__ = "0.1.0"

__all__ = ["Candidate", "Model", "Profile", "ProfileError", "Setting", "__version__"]
